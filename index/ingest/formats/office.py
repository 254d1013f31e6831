"""Office files LibreOffice reads and we do not: old Word (.doc), Kingsoft WPS (.wps, .et, .dps), .rtf,
old Excel (.xls) and presentations (.ppt, .pptx).

Which reader a file gets is decided by its bytes, not its name: an OLE compound file (`D0CF11E0`) is Word,
Excel or PowerPoint by the streams it holds (a Kingsoft .wps is Word's binary format with extensions, and
LibreOffice reads it as such); a .doc that is really a zip is a .docx, one that is really HTML (Word's "save as
web page") a web page, one that is really a PDF a PDF. Text documents and presentations become PDF, so pages
are known as the source has them; spreadsheets become .xlsx, read row by row like any other workbook.

Conversion runs LibreOffice headless, one process per batch of files (starting it costs more than converting
a short file), with a private profile in a private temporary folder (macros never run, nothing is written to
the user's own profile), a time limit per file and no window. A converted copy is kept in a cache folder under
its content hash, so a sync or a rebuild never converts the same bytes twice.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import olefile
from tqdm import tqdm

from index.durable import file_sha256
from index.ingest.formats.base import FileRejected, ReadOptions

# the Debian packages that hold LibreOffice without its desktop parts (about 250 MB)
PACKAGES = "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui"
WRITER = {".doc": "old Word", ".wps": "WPS text", ".rtf": "RTF", ".dot": "Word template", ".wpt": "WPS template"}
CALC = {".xls": "old Excel", ".et": "WPS spreadsheet"}
IMPRESS = {".ppt": "old PowerPoint", ".pptx": "PowerPoint", ".dps": "WPS presentation"}
SUFFIXES = {**WRITER, **CALC, **IMPRESS}

TIME_LIMIT_S = 60.0  # one file's conversion; a batch may take this per file
BATCH = 20  # files per LibreOffice process: its start (~1 s) is paid once per batch
WORKERS = 2  # processes at once; measured on 2 cores by bench/formats.py

_NO_NETWORK = "http://127.0.0.1:9"  # the discard port: nothing listens, every request fails at once
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
# the profile's settings: the highest macro security (macros never run), no update check, no recovery, links to
# other files and images on the network never followed or updated
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Jobs/Jobs/org.openoffice.Office.Jobs:Job['UpdateCheck']/Arguments"><prop oor:name="AutoCheckEnabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/RecoveryInfo"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
</oor:items>
"""


@dataclass(frozen=True)
class Plan:
    """How one file is read: `reader` is "convert" (LibreOffice to `target`, the input named `as_suffix`), or
    the name of a reader of ours the file really is ("docx", "xlsx", "pdf", "html")."""

    reader: str
    target: str = ""
    as_suffix: str = ""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_message() -> str:
    return f"needs LibreOffice to be read, which is not installed (Debian: apt-get install {PACKAGES})"


def _ole_streams(path: Path) -> set[str]:
    try:
        with olefile.OleFileIO(str(path)) as ole:
            return {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError, TypeError) as e:  # olefile's own errors subclass these
        raise FileRejected(f"a damaged Office file (its compound-file structure cannot be read: {e})") from None


def _word_encrypted(path: Path) -> bool:
    """The FIB's fEncrypted flag of a Word binary document (bit 8 of the 16-bit flags at offset 10)."""
    with olefile.OleFileIO(str(path)) as ole:
        head = ole.openstream("WordDocument").read(12)
    return len(head) >= 12 and bool(int.from_bytes(head[10:12], "little") & 0x0100)


def plan_for(path: Path) -> Plan:
    """How to read `path` (one of `SUFFIXES`), from its first bytes. Raises `FileRejected` with the reason."""
    suffix = path.suffix.lower()
    with open(path, "rb") as f:
        head = f.read(512)
    family = "pdf" if suffix in WRITER or suffix in IMPRESS else "xlsx"
    if head.startswith(OLE):
        streams = _ole_streams(path)
        if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
            raise FileRejected("the file is encrypted (password protected); save an unprotected copy to index it")
        if "WordDocument" in streams:
            if _word_encrypted(path):
                raise FileRejected("the document is encrypted (password protected); save an unprotected copy to index it")
            return Plan("convert", "pdf", ".doc")
        if "Workbook" in streams or "Book" in streams:
            return Plan("convert", "xlsx", ".xls")
        if "PowerPoint Document" in streams:
            return Plan("convert", "pdf", ".ppt")
        raise FileRejected("an Office compound file that holds no Word, Excel or PowerPoint document")
    if head.startswith(ZIP):
        if suffix in IMPRESS:
            return Plan("convert", "pdf", ".pptx")
        return Plan("docx" if family == "pdf" else "xlsx")  # a .doc or .wps saved as .docx, an .xls as .xlsx
    if head.lstrip().startswith(b"{\\rtf"):
        return Plan("convert", "pdf", ".rtf")
    if head.startswith(b"%PDF-"):
        return Plan("pdf")
    lower = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if family == "pdf" and lower.startswith((b"<html", b"<!doctype html", b"<?xml", b"mime-version")):
        return Plan("html")  # Word's and WPS's "save as web page" kept under a .doc name
    kind = SUFFIXES.get(suffix, suffix)
    raise FileRejected(f"not a real {kind} file (its first bytes are not those of any Office format)")


def content_key(path: Path) -> str:
    """What a converted copy is kept under: its source's sha256, as the corpus fingerprint hashes it."""
    return file_sha256(path)


class Converter:
    """Converts office files with LibreOffice into `cache` (a folder kept between runs, or a private temporary
    one removed with this object), a batch per process."""

    def __init__(self, cache: Path | None = None, time_limit: float = TIME_LIMIT_S, workers: int = WORKERS,
                 batch: int = BATCH):
        self._own_cache = cache is None
        self.cache = Path(tempfile.mkdtemp(prefix="zhqa-converted-")) if cache is None else Path(cache)
        self.time_limit, self.workers, self.batch = time_limit, workers, batch
        self.failures: dict[str, str] = {}  # content key -> why it could not be converted (this run)

    def close(self) -> None:
        if self._own_cache:
            shutil.rmtree(self.cache, ignore_errors=True)

    def __enter__(self) -> "Converter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cached(self, key: str, target: str) -> Path | None:
        path = self.cache / f"{key}.{target}"
        return path if path.is_file() else None

    def convert(self, files: list[tuple[Path, Plan]], progress: bool = False) -> None:
        """Convert every (file, plan) not already in the cache; failures are kept in `failures`."""
        todo: dict[tuple[str, str], tuple[Path, Plan]] = {}
        for path, plan in files:
            key = content_key(path)
            if not self.cached(key, plan.target) and key not in self.failures:
                todo.setdefault((key, plan.target), (path, plan))
        if not todo:
            return
        if soffice() is None:
            for key, _target in todo:
                self.failures[key] = missing_message()
            return
        self.cache.mkdir(parents=True, exist_ok=True)
        jobs = sorted(todo.items())
        batches = [jobs[i:i + self.batch] for i in range(0, len(jobs), self.batch)]
        with tqdm(total=len(jobs), desc="converting (LibreOffice)", unit="file", disable=not progress,
                  file=sys.stderr) as bar, ThreadPoolExecutor(max(1, self.workers)) as pool:
            for done in pool.map(self._convert_batch, batches):
                bar.update(done)

    def _convert_batch(self, jobs: list[tuple[tuple[str, str], tuple[Path, Plan]]]) -> int:
        by_target: dict[str, list[tuple[str, Path, Plan]]] = {}
        for (key, target), (path, plan) in jobs:
            by_target.setdefault(target, []).append((key, path, plan))
        for target, items in by_target.items():
            with tempfile.TemporaryDirectory(prefix="zhqa-office-") as tmp:
                left = self._run(Path(tmp), target, items, self.time_limit * len(items))
                # a batch that ran out of time: the files it did not finish, each alone with its own limit
                for key, path, plan in left if len(items) > 1 else []:
                    with tempfile.TemporaryDirectory(prefix="zhqa-office-") as one:
                        self._run(Path(one), target, [(key, path, plan)], self.time_limit)
                for key, _path, _plan in items:
                    if not self.cached(key, target) and key not in self.failures:
                        self.failures[key] = ("LibreOffice could not open it (damaged, password protected, or not "
                                              "the format its name says)")
        return len(jobs)

    def _run(self, tmp: Path, target: str, items: list[tuple[str, Path, Plan]], limit: float) -> list:
        """One LibreOffice process over `items`; returns the items left unconverted by a timeout."""
        profile, inputs, out = tmp / "profile", tmp / "in", tmp / "out"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        inputs.mkdir()
        names = []
        for key, path, plan in items:
            link = inputs / f"{key}{plan.as_suffix}"
            link.symlink_to(Path(path).resolve())
            names.append(str(link))
        filter_name = "xlsx:Calc MS Excel 2007 XML" if target == "xlsx" else "pdf"
        command = [soffice(), "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
                   "--nodefault", "--nofirststartwizard", f"-env:UserInstallation={profile.as_uri()}",
                   "--convert-to", filter_name, "--outdir", str(out), *names]
        # its HOME and temporary files go to the private folder too: nothing is written anywhere else
        # and any network access it still tries goes to a proxy that is not there
        env = {**os.environ, "HOME": str(tmp), "TMPDIR": str(tmp), "SAL_USE_VCLPLUGIN": "svp",
               "http_proxy": _NO_NETWORK, "https_proxy": _NO_NETWORK, "ftp_proxy": _NO_NETWORK, "no_proxy": ""}
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                   start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        left = []
        for key, path, plan in items:
            produced = out / f"{key}.{target}"
            # after a kill, the file being written may be cut short: only a whole one is kept
            if produced.is_file() and (not timed_out or _whole(produced, target)):
                self._keep(produced, key, target)
            elif timed_out:
                left.append((key, path, plan))
                if len(items) == 1:
                    self.failures[key] = f"LibreOffice took more than {limit:.0f} s to convert it"
        return left

    def _keep(self, produced: Path, key: str, target: str) -> None:
        """Move a converted copy into the cache: written under a temporary name, flushed, then renamed."""
        final = self.cache / f"{key}.{target}"
        partial = self.cache / f".{key}.{target}.part"
        shutil.copyfile(produced, partial)
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(partial, final)


def _whole(path: Path, target: str) -> bool:
    """Is a converted file complete: a PDF that ends with its %%EOF, an .xlsx that is a readable zip?"""
    if target == "pdf":
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 1024))
            return b"%%EOF" in f.read()
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (zipfile.BadZipFile, OSError):
        return False


_shared: Converter | None = None


def converter(options: ReadOptions) -> Converter:
    """The converter for `options.converted` (a cache folder), or a private one for this process."""
    global _shared
    if options.converted is not None:
        return Converter(Path(options.converted))
    if _shared is None:
        _shared = Converter()
        atexit.register(_shared.close)
    return _shared
