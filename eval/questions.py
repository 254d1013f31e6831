"""Question sets with span gold, and the rule that says when a passage answers a gold entry.

File formats
------------
* JSONL, one question per line::

    {"qid": "q01", "question": "...", "gold": [{"doc": "<doc id>", "span": "<exact text>"}], "kind": "fact|list|paraphrase"}

  ``qid`` and ``kind`` are optional (``qid`` defaults to ``q<line>``, ``kind`` to ``fact``).
* CSV with a header row holding ``question``, ``doc`` and ``span`` (optional ``qid`` and ``kind``).
  Several rows with the same question (or the same ``qid``) are several gold entries of one question.

Errors name the file and the line (:class:`QuestionSetError`).

Relevance (span gold)
---------------------
Texts are compared after :func:`nfkc_without_spaces`: Unicode NFKC, then every whitespace character removed.
This makes gold written against the raw file (with PDF wraps such as "全生命周 期", full-width
punctuation, hard line breaks) match the cleaned text the index holds, and it survives any re-chunking.

A retrieved passage satisfies a gold entry ``(doc, span)`` when it comes from ``doc`` and

1. its text contains the span after normalisation, or
2. the span straddles a chunk boundary: the span is located in the cleaned document text (by the same
   normalised match, mapped back to offsets with an offset map) and the passage's ``[start, end)`` covers
   at least half (:data:`MIN_OVERLAP`) of the span's normalised characters at one of its locations.

Rule 2 exists because a chunker may cut a gold sentence in two; the passage holding the larger part
(or either part, when the cut is in the middle) shows the reader most of the answer, so it counts.
A passage holding a small tail of the span does not. With no cut, rule 2 never adds anything that rule 1
does not already count. A span that cannot be located in the cleaned text (the document changed, or
it is not in the index) is judged by rule 1 only, and :meth:`GoldJudge.unresolved` lists it.
"""
from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

KINDS = ("fact", "list", "paraphrase")
MIN_OVERLAP = 0.5


class QuestionSetError(ValueError):
    """A question set file cannot be read; the message names the file and line."""


# --- normalisation -----------------------------------------------------------------------------
def _norm_char(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", ch) if not c.isspace())


def nfkc_without_spaces(text: str) -> str:
    """NFKC, then all whitespace removed (character by character, so offsets can be mapped back)."""
    return "".join(_norm_char(ch) for ch in text)


def nfkc_without_spaces_with_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the offset of its source character."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in _norm_char(ch):
            out.append(c)
            where.append(i)
    return "".join(out), where


def locate(span: str, text: str, _cache: tuple[str, list[int]] | None = None) -> list[tuple[int, int]]:
    """Every location ``(start, end)`` in ``text`` of ``span``, matched after normalisation."""
    needle = nfkc_without_spaces(span)
    if not needle:
        return []
    norm, where = _cache if _cache is not None else nfkc_without_spaces_with_map(text)
    found = []
    i = norm.find(needle)
    while i >= 0:
        found.append((where[i], where[i + len(needle) - 1] + 1))
        i = norm.find(needle, i + 1)
    return found


# --- data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gold:
    doc: str
    span: str

    def to_dict(self) -> dict:
        return {"doc": self.doc, "span": self.span}


@dataclass
class Question:
    qid: str
    question: str
    gold: list[Gold]
    kind: str = "fact"
    line: int = 0  # where it was read from, for messages

    def gold_ids(self) -> list[str]:
        """The qrels ids of the gold entries: ``<qid>-g0``, ``<qid>-g1``, ..."""
        return [f"{self.qid}-g{i}" for i in range(len(self.gold))]

    def to_dict(self) -> dict:
        return {"qid": self.qid, "question": self.question, "gold": [g.to_dict() for g in self.gold], "kind": self.kind}


@dataclass
class QuestionSet:
    questions: list[Question]
    name: str = "questions"
    path: str = ""

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self):
        return iter(self.questions)

    # loading ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "QuestionSet":
        """Read a ``.jsonl`` (or ``.json`` lines) or ``.csv`` question set."""
        path = Path(path)
        if not path.exists():
            raise QuestionSetError(f"{path}: no such file")
        if path.is_dir():
            raise QuestionSetError(f"{path}: is a folder, not a question set file (.jsonl or .csv)")
        suffix = path.suffix.lower()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise QuestionSetError(f"{path}: cannot read ({exc.strerror})") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            try:  # a CSV saved by Excel on a Chinese system is GBK
                if suffix != ".csv":
                    raise
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise QuestionSetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if suffix == ".csv":
            return cls.from_csv_text(text, name=path.stem, path=str(path))
        if suffix in (".jsonl", ".json", ".ndjson"):
            return cls.from_jsonl_text(text, name=path.stem, path=str(path))
        raise QuestionSetError(f"{path}: unknown question set format {suffix or '(no suffix)'}; use .jsonl or .csv")

    @classmethod
    def from_jsonl_text(cls, text: str, name: str = "questions", path: str = "<jsonl>") -> "QuestionSet":
        questions: list[Question] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise QuestionSetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(row, dict):
                raise QuestionSetError(f"{where}: expected a JSON object per line, got {type(row).__name__}")
            question = row.get("question")
            if not isinstance(question, str) or not question.strip():
                raise QuestionSetError(f"{where}: missing or empty \"question\"")
            gold_rows = row.get("gold")
            if not isinstance(gold_rows, list) or not gold_rows:
                raise QuestionSetError(f"{where}: \"gold\" must be a non-empty list of {{\"doc\", \"span\"}} objects")
            gold = []
            for j, g in enumerate(gold_rows):
                if not isinstance(g, dict):
                    raise QuestionSetError(f"{where}: gold entry {j} is not an object with \"doc\" and \"span\"")
                gold.append(_gold(g.get("doc"), g.get("span"), f"{where}: gold entry {j}"))
            qid = row.get("qid", f"q{lineno}")
            kind = row.get("kind", "fact") or "fact"
            questions.append(Question(str(qid), question.strip(), gold, _kind(kind, where), lineno))
        return cls._finish(questions, name, path)

    @classmethod
    def from_csv_text(cls, text: str, name: str = "questions", path: str = "<csv>") -> "QuestionSet":
        try:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(text.splitlines(), dialect=dialect)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in ("question", "doc", "span") if c not in header]
        if missing:
            raise QuestionSetError(
                f"{path}:1: the header must name the columns question, doc, span (optional qid, kind); "
                f"missing {', '.join(missing)}"
            )
        reader.fieldnames = header
        by_key: dict[str, Question] = {}
        order: list[str] = []
        for row in reader:
            lineno = reader.line_num
            where = f"{path}:{lineno}"
            if None in row:  # more cells than header columns
                raise QuestionSetError(f"{where}: more cells than header columns")
            if not any((v or "").strip() for v in row.values()):
                continue
            question = (row.get("question") or "").strip()
            if not question:
                raise QuestionSetError(f"{where}: empty question")
            gold = _gold((row.get("doc") or "").strip(), row.get("span"), where)
            qid = (row.get("qid") or "").strip()
            key = qid or question
            kind = _kind((row.get("kind") or "").strip() or "fact", where)
            if key in by_key:
                q = by_key[key]
                if q.question != question:
                    raise QuestionSetError(f"{where}: qid {qid!r} was used for another question on line {q.line}")
                q.gold.append(gold)
            else:
                by_key[key] = Question(qid or f"q{len(order) + 1}", question, [gold], kind, lineno)
                order.append(key)
        return cls._finish([by_key[k] for k in order], name, path)

    @classmethod
    def _finish(cls, questions: list[Question], name: str, path: str) -> "QuestionSet":
        if not questions:
            raise QuestionSetError(f"{path}: no questions in the file")
        seen: dict[str, int] = {}
        for q in questions:
            if q.qid in seen:
                raise QuestionSetError(f"{path}:{q.line}: qid {q.qid!r} already used on line {seen[q.qid]}")
            seen[q.qid] = q.line
        return cls(questions, name, path)

    # checks -----------------------------------------------------------------------------------
    def resolve_docs(self, doc_ids: Iterable[str]) -> list[str]:
        """Map gold doc names onto the index's doc ids in place; return problems (unknown docs).

        A gold doc may be the exact id, a file name (``000_63a4e04b80a11179.txt``) or a unique prefix
        (``000``) of an id.
        """
        known = sorted(doc_ids)
        known_set = set(known)
        problems = []
        for q in self.questions:
            for j, g in enumerate(q.gold):
                if g.doc in known_set:
                    continue
                stem = Path(g.doc).stem
                match = [stem] if stem in known_set else [d for d in known if d.startswith(g.doc)]
                if len(match) == 1:
                    q.gold[j] = Gold(match[0], g.span)
                elif match:
                    problems.append(f"{self.path}:{q.line}: {q.qid}: document {g.doc!r} is ambiguous ({', '.join(match[:5])})")
                else:
                    sample = ", ".join(known[:5]) + (" ..." if len(known) > 5 else "")
                    problems.append(f"{self.path}:{q.line}: {q.qid}: document {g.doc!r} is not in the index (it has {sample})")
        return problems

    def to_jsonl(self) -> str:
        return "".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in self.questions)


def _gold(doc, span, where: str) -> Gold:
    if not isinstance(doc, str) or not doc.strip():
        raise QuestionSetError(f"{where}: missing \"doc\" (the document id, e.g. the file stem)")
    if not isinstance(span, str) or not nfkc_without_spaces(span):
        raise QuestionSetError(f"{where}: missing or empty \"span\" (exact text from the document)")
    return Gold(doc.strip(), span)


def _kind(kind, where: str) -> str:
    kind = str(kind).strip()
    if kind not in KINDS:
        raise QuestionSetError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


# --- judging ----------------------------------------------------------------------------------
@dataclass
class GoldJudge:
    """Decides which gold entries of a question a passage satisfies (see the module doc for the rule)."""

    documents: Mapping[str, object]  # doc_id -> Document (anything with .text)
    min_overlap: float = MIN_OVERLAP
    _maps: dict = field(default_factory=dict, repr=False)
    _locations: dict = field(default_factory=dict, repr=False)

    def _doc_map(self, doc_id: str):
        if doc_id not in self._maps:
            doc = self.documents.get(doc_id)
            self._maps[doc_id] = nfkc_without_spaces_with_map(doc.text) if doc is not None else None
        return self._maps[doc_id]

    def locations(self, gold: Gold) -> list[tuple[int, int, int]]:
        """``(start, end, normalised length)`` of each place the span occurs in the cleaned document."""
        key = (gold.doc, gold.span)
        if key not in self._locations:
            cache = self._doc_map(gold.doc)
            if cache is None:
                self._locations[key] = []
            else:
                n = len(nfkc_without_spaces(gold.span))
                doc_text = self.documents[gold.doc].text
                self._locations[key] = [(s, e, n) for s, e in locate(gold.span, doc_text, cache)]
        return self._locations[key]

    def unresolved(self, questions: Iterable[Question]) -> list[str]:
        """Messages for gold spans not found in the cleaned text of their document."""
        out = []
        for q in questions:
            for g in q.gold:
                if g.doc in self.documents and not self.locations(g):
                    out.append(f"{q.qid}: span {g.span!r} not found in the cleaned text of {g.doc}")
        return out

    def satisfies(self, gold: Gold, doc_id: str, start: int, end: int, text: str) -> bool:
        if doc_id != gold.doc:
            return False
        if nfkc_without_spaces(gold.span) in nfkc_without_spaces(text):
            return True
        for s, e, n in self.locations(gold):
            if s >= end or e <= start:
                continue
            doc_text = self.documents[gold.doc].text
            covered = len(nfkc_without_spaces(doc_text[max(s, start) : min(e, end)]))
            if n and covered / n >= self.min_overlap:
                return True
        return False

    def matches(self, question: Question, doc_id: str, start: int, end: int, text: str) -> list[int]:
        """Indices of the question's gold entries that this passage satisfies."""
        return [i for i, g in enumerate(question.gold) if self.satisfies(g, doc_id, start, end, text)]
