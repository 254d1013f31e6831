"""What one document says about places: its mentions, its headings, whether it is a page of several
articles, and how much it is about each place; computed once per document text and kept."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from index.text import split_sentences

from .divisions import Division, divisions
from .place_mentions import Mention, find_mentions, most_specific

_HEADING_MAX = 40
_SENTENCE_FINAL = "。！？!?；;…"


@dataclass
class DocPlaces:
    """What a document says about places: its mentions, headings, and the place it is about."""

    mentions: list[Mention]
    sentences: list[tuple[int, int]]
    headings: list[tuple[int, int]]
    multi_article: bool
    scores: dict[str, float]  # division code -> how much the document is about it
    supported: set[str]  # codes named in the title or source
    title_source_mentions: list[Mention]
    basis: str  # what a reader can check the resolution against (source, else title)


def _heading_spans(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if 0 < len(stripped) <= _HEADING_MAX and not any(c in stripped for c in _SENTENCE_FINAL):
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _doc_key(doc) -> str:
    return hashlib.sha1(f"{doc.doc_id}\x00{doc.title}\x00{doc.source}\x00{doc.text}".encode("utf-8")).hexdigest()


_DOC_CACHE: dict[str, DocPlaces] = {}


def doc_places(doc) -> DocPlaces:
    """Place analysis of an `index.Document`, computed once per document text."""
    key = _doc_key(doc)
    hit = _DOC_CACHE.get(key)
    if hit is not None:
        return hit
    table = divisions()
    head = "\n".join(x for x in (doc.title, doc.source) if x)
    mentions = find_mentions(doc.text, head, table)
    ts_mentions = find_mentions(head, doc.text, table) if head else []
    headings = _heading_spans(doc.text)

    heading_places: list[Division] = []
    for hs, he in headings:
        inside = [m for m in mentions if hs <= m.start < he and m.actor_eligible]
        for m in most_specific(inside, table):
            if m.division not in heading_places:
                heading_places.append(m.division)
    unrelated = [d for d in heading_places
                 if not any(o != d and (table.is_ancestor(o, d) or table.is_ancestor(d, o)) for o in heading_places)]
    multi = len(unrelated) >= 2

    scores: dict[str, float] = {}

    def add(d: Division, w: float) -> None:
        scores[d.code] = scores.get(d.code, 0.0) + w
        for anc in table.chain(d)[:-1]:
            scores[anc.code] = scores.get(anc.code, 0.0) + w * 0.5

    for m in mentions:
        if m.actor_eligible:
            add(m.division, 1.0)
    supported = set()
    for m in most_specific(ts_mentions, table):
        add(m.division, 3.0)
        supported.add(m.division.code)
    dp = DocPlaces(mentions=mentions, sentences=split_sentences(doc.text), headings=headings, multi_article=multi,
                   scores=scores, supported=supported, title_source_mentions=ts_mentions,
                   basis=doc.source or doc.title or doc.doc_id)
    if len(_DOC_CACHE) > 256:
        _DOC_CACHE.clear()
    _DOC_CACHE[key] = dp
    return dp
