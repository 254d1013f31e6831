"""The corpus map: each corpus file's hash and [size, modification time], so a sync reads only what changed.

At 40,000 files the map is ~6 MB of JSON; rewritten by every change it would be most of what an upload writes.
So it is stored as a chain of links in `corpus-maps/`, named by the version's manifest: the first link holds the
whole map, each later one only what a change altered (a path's new entry, or null for a path gone). A reader
folds the chain; a change appends one link, and the chain starts again from a whole map when it has grown
LONGEST_CHAIN links or a change altered a quarter of the map (so reading a chain stays cheap and a whole map is
written about once every LONGEST_CHAIN changes). Links are written once and never changed, checksummed in the
manifest, and deleted like segments: when no version left names them.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from index.durable import IndexBroken

MAPS = "corpus-maps"
LONGEST_CHAIN = 64
KINDS = ("corpus_files", "corpus_stat")  # the manifest keys the maps are known by in memory

Maps = tuple[dict, dict]  # (path -> sha256, path -> [size, mtime_ns])


class Altered(dict):
    """A map made from `base` by altering the entries of `names` only (a change that knows what it touched), so
    the link it adds compares those names, not every path: that comparison is 0.12 s at 170,000 files. The link's
    writer lets go of `base` (see `settle`), so versions do not hold on to each other's maps."""

    def __init__(self, base: dict, altered: dict):
        super().__init__(base)
        for k, v in altered.items():
            if v is None:
                self.pop(k, None)
            else:
                self[k] = v
        self.base: dict | None = base
        self.names = frozenset(altered)
        if isinstance(base, Altered):
            base.base = None  # no chain of maps kept alive (a Milvus index never writes links to settle them)


def settle(maps: Maps) -> None:
    """Forget the maps `maps` were made from (their link is written)."""
    for m in maps:
        if isinstance(m, Altered):
            m.base = None


def alterations(before: dict, after: dict) -> dict:
    """What turns `before` into `after`: changed or new entries, and None for each entry gone."""
    if isinstance(after, Altered) and after.base is before:
        return {k: after.get(k) for k in after.names if before.get(k) != after.get(k)}
    out = {k: v for k, v in after.items() if before.get(k) != v}
    out.update((k, None) for k in before.keys() - after.keys())
    return out


def fold(maps: Maps, link: dict) -> Maps:
    """`maps` with a link's alterations applied (new dicts: folded maps are shared and never changed in place)."""
    folded = []
    for held, altered in zip(maps, (link.get("files", {}), link.get("stat", {}))):
        held = dict(held)
        for k, v in altered.items():
            if v is None:
                held.pop(k, None)
            else:
                held[k] = v
        folded.append(held)
    return folded[0], folded[1]


def read_link(folder: Path, entry: dict) -> dict:
    """A link of the chain, checked against the checksum its manifest gives."""
    try:
        data = (folder / entry["name"]).read_bytes()
    except FileNotFoundError as exc:
        raise IndexBroken(f"{MAPS}/{entry['name']} is missing") from exc
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise IndexBroken(f"{MAPS}/{entry['name']} is damaged (its checksum does not match)")
    return json.loads(data)


def read_chain(folder: Path, chain: list[dict], start: Maps = ({}, {}), skip: int = 0) -> Maps:
    """The maps a chain folds to; `start` is what its first `skip` links fold to, when known."""
    maps = start
    for entry in chain[skip:]:
        maps = fold(maps, read_link(folder, entry))
    return maps


def next_link(chain: list[dict], stored: Maps, wanted: Maps) -> tuple[bytes | None, bool]:
    """The link a change adds to go from the `stored` maps (what `chain` folds to) to the `wanted` ones: its
    bytes (None: nothing changed) and whether it starts the chain again as a whole map."""
    altered = [alterations(b, a) for b, a in zip(stored, wanted)]
    if not any(altered):
        return None, False
    whole = (not chain or len(chain) >= LONGEST_CHAIN
             or sum(map(len, altered)) * 4 > sum(map(len, wanted)))
    files, stat = wanted if whole else altered
    data = json.dumps({"files": files, "stat": stat}, ensure_ascii=False, separators=(",", ":"))
    return data.encode("utf-8", "backslashreplace"), whole
