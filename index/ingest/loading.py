"""Loading a corpus: a folder of documents (.txt/.md and every format of `formats`) or a .jsonl bulk file.

A text file is decoded (see `decode_bytes`), cleaned and its stated metadata extracted
(`metadata.parse_document`); PDF, .docx and .html go through `index.formats`, then the same cleaning.
Problems with single files or lines - binary, encrypted, damaged or oversized files, undecodable
bytes, empty documents, malformed JSONL lines, formats that are not read - are returned as warnings
(and logged), never raised: one bad file must not stop an index build.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from index.ingest import archives
from index.ingest.cleaning import clean_light
from index.document import Document
from index.ingest.formats import NOT_READ, SUFFIXES, FileRejected, ReadOptions, prepare, read_document
from index.ingest.decoding import DecodeError, decode_bytes
from index.ingest.metadata import parse_date, parse_document


TEXT_SUFFIXES = {".txt", ".md"}
DOCUMENT_SUFFIXES = TEXT_SUFFIXES | set(SUFFIXES) | {".zip", ".tgz"}
FORMATS_READ = ".txt .md " + " ".join(sorted(SUFFIXES)) + " .zip .tar.gz (archives of these) (and a .jsonl bulk file)"


def is_readable(path: Path) -> bool:
    """Is `path` of a format read (by its name; its bytes decide the reader)?"""
    return path.suffix.lower() in DOCUMENT_SUFFIXES or archives.is_archive(path)
_MD_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")
JSONL_SUFFIXES = {".jsonl"}


# ---------------------------------------------------------------------------------------------
# documents


def parse_text(raw: str, doc_id: str, path: str = "", format: str = "txt") -> Document:
    """Clean a raw text and extract its metadata into a `Document`."""
    body, meta = parse_document(raw)
    return Document(doc_id=doc_id, text=body, title=meta.title, source=meta.source, date=meta.date, url=meta.url,
                    path=path, doc_number=meta.doc_number, format=format)


MAX_LINE_CHARS = 100_000  # a "paragraph" longer than this is a data dump, not a document (and would take hours)


def load_file(path: Path, doc_id: str | None = None) -> Document:
    """Read one .txt/.md file. Raises `DecodeError` (binary/undecodable), `FileRejected` (a line too long to be a
    paragraph) or `OSError`."""
    path = Path(path)
    text, _encoding = decode_bytes(path.read_bytes())
    longest = max((len(line) for line in text.split("\n")), default=0)
    if longest > MAX_LINE_CHARS:
        raise FileRejected(f"a single line of {longest:,} characters is not a document (lines longer than "
                           f"{MAX_LINE_CHARS:,} characters are not read; break it into paragraphs)")
    if path.suffix.lower() == ".md":
        text = _MD_HEADING.sub("", text)  # "## 小节" -> "小节"
    return parse_text(text, doc_id or path.stem, str(path), format=path.suffix.lower().lstrip("."))


def _warn(warnings: list[str], message: str) -> None:
    # collected, not logged: the caller reports them once (the CLI prints them, the page shows them)
    warnings.append(message)


def _document_files(folder: Path, only: set[str] | None = None) -> tuple[list[Path], list[Path]]:
    """(files read, files of other formats), both sorted; hidden files and folders are neither. With `only`, just
    those relative paths are looked at (a change to a 40,000-file folder does not walk it again)."""
    files, others = [], []
    for p in folder.rglob("*") if only is None else (folder / name for name in only):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and folders (.git, .ipynb_checkpoints, editor backups)
        if p.is_file():
            (files if is_readable(p) else others).append(p)
        elif p.is_symlink() and not p.exists():
            others.append(p)  # a link to nothing: said, like a file that is not read
    key = lambda p: p.relative_to(folder).as_posix()  # noqa: E731
    return sorted(files, key=key), sorted(others, key=key)


def not_read_message(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return f"skipped {path}: a symbolic link to {os.readlink(path)}, which does not exist"
    hint = NOT_READ.get(path.suffix.lower())
    return f"skipped {path}: {path.suffix or 'no extension'} is not a format that is read" + (
        f" ({hint})" if hint else "") + f"; formats read: {FORMATS_READ}"


def doc_id_for(path: Path, root: Path | None = None) -> str:
    """A document's id: its path relative to the corpus root, without the extension ("notices/2024/a")."""
    relative = Path(path).relative_to(root) if root is not None else Path(Path(path).name)
    # bytes of a file name that are not UTF-8 show as \xe9: an id is text that any page or terminal can carry
    return relative.with_suffix("").as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_one(path: Path, options: ReadOptions = ReadOptions(), doc_id: str | None = None) -> tuple[Document | None, list[str]]:
    """(document or None, warnings) for one file of any format read; never raises for a bad file."""
    warnings: list[str] = []
    doc_id = doc_id or doc_id_for(path)
    try:
        if path.suffix.lower() in TEXT_SUFFIXES:
            size = path.stat().st_size
            if size > options.max_file_mb * 2**20:
                raise FileRejected(f"{size / 2**20:.0f} MB is more than the {options.max_file_mb:g} MB limit (--max-file-mb)")
            doc, notes = load_file(path, doc_id), []
        else:
            doc, notes = read_document(path, doc_id, options)
    except (DecodeError, FileRejected) as e:
        _warn(warnings, f"skipped {path}: {e}")
        return None, warnings
    except OSError as e:
        _warn(warnings, f"skipped {path}: cannot read it ({e})")
        return None, warnings
    except Exception as e:  # a parser library failing on a malformed file: that file is skipped, the build goes on
        _warn(warnings, f"skipped {path}: cannot read it ({type(e).__name__}: {e})")
        return None, warnings
    for note in notes:
        _warn(warnings, note)
    if not doc.text.strip():
        _warn(warnings, f"skipped {path}: no text after cleaning" + (" (a scanned PDF with OCR off or cut?)" if doc.format == "pdf" else ""))
        return None, warnings
    return doc, warnings


def load_folder(folder: Path, options: ReadOptions = ReadOptions(), only: set[str] | None = None) -> tuple[list[Document], list[str]]:
    """The documents of a folder; with `only`, just the files at those relative paths (an update)."""
    docs: list[Document] = []
    warnings: list[str] = []
    seen: dict[str, Path] = {}
    files, others = _document_files(folder, only)
    for path in others:
        _warn(warnings, not_read_message(path))
    slow = sum(1 for f in files if f.suffix.lower() not in TEXT_SUFFIXES)  # PDF, Word, HTML: a bar is worth it
    prepare(files, options)  # office files converted in batches, not one LibreOffice start per file
    for path in tqdm(files, desc="reading", unit="file", disable=not (options.progress and slow), file=sys.stderr):
        if archives.is_archive(path):
            found, problems = read_archive(path, options, archive_id(path, folder))
        else:
            doc, problems = read_one(path, options, doc_id_for(path, folder))
            found = [doc] if doc is not None else []
        warnings += problems
        for doc in found:
            if doc.doc_id in seen:
                # doc ids are file names without their extension: a.pdf and a.html cannot both be "a"
                _warn(warnings, f"skipped {doc.path or path}: its doc id {doc.doc_id!r} is already taken by "
                                f"{seen[doc.doc_id]} (rename one of them)")
                continue
            seen[doc.doc_id] = Path(doc.path or path)
            docs.append(doc)
    return docs, warnings


def archive_id(path: Path, root: Path | None = None) -> str:
    """The doc id prefix of an archive's members: its path in the corpus with its extension ("收文/批次3.zip")."""
    relative = Path(path).relative_to(root) if root is not None else Path(Path(path).name)
    return relative.as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_archive(path: Path, options: ReadOptions, prefix: str, depth: int = 1) -> tuple[list[Document], list[str]]:
    """The documents in an archive (see `archives`), their doc ids under `prefix`; never raises for a bad one."""
    docs: list[Document] = []
    warnings: list[str] = []
    try:
        with archives.unpacked(path, wanted=DOCUMENT_SUFFIXES) as (members, notes):
            warnings += notes
            if not members and not notes:
                _warn(warnings, f"skipped {path}: the archive holds no files")
            prepare([m.path for m in members], options)
            for member in members:
                shown = f"{path}/{member.name}"
                if archives.is_archive(member.path):
                    if depth >= archives.MAX_DEPTH:
                        _warn(warnings, f"skipped {shown}: an archive nested {depth + 1} deep is not read "
                                        f"(at most {archives.MAX_DEPTH})")
                        continue
                    inner, problems = read_archive(member.path, options, f"{prefix}/{member.name}", depth + 1)
                    docs += inner
                    warnings += [w.replace(str(member.path), shown) for w in problems]
                    continue
                doc, problems = read_one(member.path, options, f"{prefix}/{PurePosixPath(member.name).with_suffix('').as_posix()}")
                warnings += [w.replace(str(member.path), shown) for w in problems]
                if doc is not None:
                    docs.append(replace(doc, path=shown))
    except archives.FileRejected as e:
        _warn(warnings, f"skipped {path}: {e}")
    except OSError as e:
        _warn(warnings, f"skipped {path}: cannot read it ({e})")
    return docs, warnings


def _field(record: dict, key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def load_jsonl(path: Path) -> tuple[list[Document], list[str]]:
    """One {"doc_id", "title", "text"} object per line (optional "source", "date", "url"); a BEIR corpus's
    "_id" stands for "doc_id"."""
    path = Path(path)
    docs: list[Document] = []
    warnings: list[str] = []
    seen: set[str] = set()
    try:
        data = path.read_bytes()
        raw, _enc = decode_bytes(data)
    except (OSError, DecodeError) as e:
        _warn(warnings, f"skipped {path}: {e}")
        return docs, warnings
    # only "\n" ends a JSON line: str.splitlines would also cut at U+2028 and friends inside the text
    for lineno, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            _warn(warnings, f"{path}:{lineno}: not valid JSON ({e.msg}); line skipped")
            continue
        if not isinstance(record, dict):
            _warn(warnings, f"{path}:{lineno}: not a JSON object; line skipped")
            continue
        doc_id, text = record.get("doc_id", record.get("_id")), record.get("text")
        if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()) or isinstance(doc_id, (dict, list)):
            _warn(warnings, f"{path}:{lineno}: no \"doc_id\"; line skipped")
            continue
        if not isinstance(text, str):
            _warn(warnings, f"{path}:{lineno}: \"text\" missing or not a string; line skipped")
            continue
        body = clean_light(text)
        if not body:
            _warn(warnings, f"{path}:{lineno}: empty \"text\"; line skipped")
            continue
        doc_id = str(doc_id).strip()
        if doc_id in seen:
            _warn(warnings, f"{path}:{lineno}: duplicate doc_id {doc_id!r}")
        seen.add(doc_id)
        date_raw = _field(record, "date")
        date = parse_date(date_raw)
        if date_raw and not date:
            _warn(warnings, f"{path}:{lineno}: unreadable date {date_raw!r} left empty")
        docs.append(
            Document(
                doc_id=doc_id,
                text=body,
                title=" ".join(_field(record, "title").split()),
                source=_field(record, "source"),
                date=date,
                url=_field(record, "url"),
                path=f"{path}:{lineno}",
                doc_number=_field(record, "doc_number"),
                format="jsonl",
            )
        )
    return docs, warnings


def load_corpus(path, options: ReadOptions = ReadOptions()) -> tuple[list[Document], list[str]]:
    """(documents, warnings) for a folder (recursive, every format read, sorted, doc id = file stem),
    a .jsonl bulk file, or a single document file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    if path.is_dir():
        return load_folder(path, options)
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(path)
    if archives.is_archive(path):
        return read_archive(path, options, archive_id(path))
    if suffix in DOCUMENT_SUFFIXES:
        doc, warnings = read_one(path, options)
        return ([doc] if doc else []), warnings
    raise ValueError(f"unsupported corpus file {path}: expected a folder, a .jsonl file or a document ({FORMATS_READ})")
