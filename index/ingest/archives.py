"""Archives (.zip, .tar.gz/.tgz): their members read as if they stood in a folder named after the archive, so a
member's doc id is the archive's path with its extension, then the member's path without its extension
(`收文/批次3.zip/通知`).

Nothing in an archive chooses where anything is written: members are copied, one at a time and counted as they
are read (a header's stated size may lie), into a private temporary folder under names of our own, and the
folder is removed when the archive has been read. An archive is refused whole, with the reason, when it is a
zip bomb (too much unpacked, or unpacked far beyond its size), holds too many members, or holds a member whose
name climbs out of it (`../x`, an absolute name) or is a link; an encrypted member is skipped with a message.
Archives inside an archive are read to a depth of `MAX_DEPTH`. Windows zips name members in GBK without saying
so: a name not flagged UTF-8 is decoded as UTF-8 if it reads as Chinese or English, else as GB18030.
"""
from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from index.ingest.decoding import plausible_text
from index.ingest.formats.base import FileRejected

SUFFIXES = {".zip": "zip archive", ".tgz": "tar.gz archive", ".tar.gz": "tar.gz archive"}
MAX_MEMBERS = 5_000
MAX_UNPACKED_MB = 2_048
MAX_RATIO = 200  # an archive that unpacks to more than 200 times its size (past 10 MB) is a bomb
MAX_DEPTH = 2  # an archive inside an archive is read; one inside that is not


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".tar.gz") or path.suffix.lower() in (".zip", ".tgz")


@dataclass(frozen=True)
class Member:
    name: str  # its path inside the archive, as the archive names it ("收文/通知.docx")
    path: Path  # its copy in the private folder


def _zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:  # the archive says its names are UTF-8
        return info.filename
    raw = info.filename.encode("cp437", "replace")  # how zipfile decoded a name the archive did not flag
    for encoding in ("utf-8", "gb18030"):
        try:
            name = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if plausible_text(name):  # GBK bytes can also be valid UTF-8 of other scripts (通知 -> ֪ͨ)
            return name
    return info.filename


def _safe_name(name: str) -> str:
    """The member's path, or FileRejected when it climbs out of the archive."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or (parts and (parts[0].endswith(":") or parts[0] == "/")) or ".." in parts:
        raise FileRejected(f"refused: its member “{name}” would be written outside the archive's folder")
    return "/".join(p for p in parts if p not in ("", "."))


def _limits(count: int, unpacked: int, packed: int) -> None:
    if count > MAX_MEMBERS:
        raise FileRejected(f"refused: {count:,} members (more than {MAX_MEMBERS:,}); unpack it and add the folder")
    if unpacked > MAX_UNPACKED_MB * 2**20 or (unpacked > 10 * 2**20 and unpacked / max(packed, 1) > MAX_RATIO):
        raise FileRejected(f"refused: it would unpack to {unpacked / 2**20:,.0f} MB from {packed / 2**20:,.1f} MB "
                           "(a zip bomb)")


def _suffix(name: str) -> str:
    """The suffix a member's copy keeps, so it is read as its format (.tar.gz whole)."""
    return ".tar.gz" if name.lower().endswith(".tar.gz") else PurePosixPath(name).suffix


def _wanted(name: str, wanted: set[str] | None) -> bool:
    return wanted is None or PurePosixPath(name).suffix.lower() in wanted or is_archive(Path(name))


def _copy(source, target: Path, limit: int, name: str) -> None:
    """Copy at most `limit` bytes: a member that unpacks to more than its header said is a bomb."""
    written = 0
    with open(target, "wb") as out:
        while block := source.read(1 << 20):
            written += len(block)
            if written > limit:
                raise FileRejected(f"refused: its member “{name}” unpacks to more than its header says (a zip bomb)")
            out.write(block)


@contextmanager
def unpacked(path: Path, wanted: set[str] | None = None):
    """(members, notes) of the archive at `path`, copied into a private temporary folder that is removed on
    leaving. `wanted` (suffixes, lower case) limits the members copied to those read; the rest are noted."""
    folder = Path(tempfile.mkdtemp(prefix="zhqa-archive-"))
    try:
        if path.name.lower().endswith((".tar.gz", ".tgz")):
            yield _untar(path, folder, wanted)
        else:
            yield _unzip(path, folder, wanted)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unzip(path: Path, folder: Path, wanted: set[str] | None) -> tuple[list[Member], list[str]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise FileRejected(f"not a readable zip archive ({e})") from None
    members: list[Member] = []
    notes: list[str] = []
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        _limits(len(infos), sum(i.file_size for i in infos), path.stat().st_size)
        names = []
        for info in infos:
            name = _safe_name(_zip_name(info))
            if stat.S_ISLNK(info.external_attr >> 16):
                raise FileRejected(f"refused: its member “{name}” is a link")
            names.append(name)
        for n, (info, name) in enumerate(zip(infos, names)):
            if not _wanted(name, wanted):
                notes.append(f"{path}/{name}: not a format that is read; left in the archive")
                continue
            if info.flag_bits & 0x1:
                notes.append(f"skipped {path}/{name}: the member is encrypted (password protected)")
                continue
            target = folder / f"m{n}{_suffix(name)}"
            try:
                with archive.open(info) as source:
                    _copy(source, target, info.file_size, name)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
                notes.append(f"skipped {path}/{name}: cannot unpack it ({e})")
                continue
            members.append(Member(name, target))
    return members, notes


def _untar(path: Path, folder: Path, wanted: set[str] | None) -> tuple[list[Member], list[str]]:
    try:
        archive = tarfile.open(path, "r:gz")
        infos = archive.getmembers()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise FileRejected(f"not a readable tar.gz archive ({e})") from None
    members: list[Member] = []
    notes: list[str] = []
    with archive:
        files = [i for i in infos if not i.isdir()]
        _limits(len(files), sum(i.size for i in files), path.stat().st_size)
        for info in files:
            name = _safe_name(info.name)
            if not info.isfile():
                raise FileRejected(f"refused: its member “{name}” is a link or a device, not a file")
        for n, info in enumerate(files):
            name = _safe_name(info.name)
            if not _wanted(name, wanted):
                notes.append(f"{path}/{name}: not a format that is read; left in the archive")
                continue
            target = folder / f"m{n}{_suffix(name)}"
            source = archive.extractfile(info)
            if source is None:
                continue
            with source:
                _copy(source, target, info.size, name)
            members.append(Member(name, target))
    return members, notes
