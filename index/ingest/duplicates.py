"""Duplicates: the same text indexed once.

An exact duplicate (the same text once whitespace is set aside) and a near-duplicate (the same article
reposted by another outlet, the same notice saved as PDF and as a web page, a scan of it) are left out of
the index; the copy kept records them, so a passage can say 另见 with their titles and sources.

Near-duplicates are found with MinHash (datasketch) over character 5-grams, and LSH to find candidates. Each
document's signature (its text's digest and MinHash) is kept with the index (`Signatures`), so a change compares
its few new documents with every document already indexed (`drop_duplicates_of`) without reading them again.
The threshold was measured (see tests/test_duplicates.py): a seed and its PDF, web page and Word renderings
have Jaccard similarity 0.97-1.00, its OCR'd scan 0.956; the seeds among themselves (five articles on the same
topic) at most 0.011. Among the 1,445 articles of stard_train the closest pairs are different provisions
of 40-odd characters (委托开发合同 / 合作开发合同, 0.90; 0.78): a few words make all the difference in a short
text, so below MIN_CHARS only exact duplicates count.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from index.document import Document

THRESHOLD = 0.8  # Jaccard similarity of character 5-grams
MIN_CHARS = 200  # shorter documents are only ever exact duplicates
SHINGLE = 5
NUM_PERM = 128


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the distinct character 5-grams of `text`, computed in numpy (hashing each 5-gram in
    Python took 3 ms a document: 6 s of every update of a 2,000-document collection)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < SHINGLE:
        codes = np.concatenate([codes, np.zeros(SHINGLE - len(codes), dtype=np.uint64)])
    n = len(codes) - SHINGLE + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(SHINGLE):
            h = (h ^ codes[j : j + n]) * _MIX
            h ^= h >> np.uint64(29)
    return np.unique((h >> np.uint64(32)).astype(np.uint32))


def prepare() -> None:
    """Import MinHash's library now (see `minhash`; 0.8 s with scipy): a server does it in the background when it
    starts, not on its first upload."""
    import datasketch  # noqa: F401


def minhash(text: str) -> "MinHash":  # noqa: F821
    # datasketch (with scipy) is imported by a build, not by every process that imports the index: a question
    # never needs it
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, hashfunc=int)  # the items are already hashes
    m.update_batch(_shingle_hashes(text).tolist())
    return m


def _copy(doc: Document, kind: str, similarity: float) -> dict:
    return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "path": doc.path, "kind": kind,
            "similarity": round(similarity, 3)}


SIGNATURES = "doc_signatures.npz"


@dataclass
class Signatures:
    """Each document's text digest (sha256 of its text without whitespace) and MinHash (zeros for a document
    shorter than MIN_CHARS: only ever an exact duplicate)."""

    doc_ids: list[str]
    digests: list[str]
    minhashes: np.ndarray  # uint64 (n, NUM_PERM)

    def __len__(self) -> int:
        return len(self.doc_ids)

    @classmethod
    def empty(cls) -> "Signatures":
        return cls([], [], np.zeros((0, NUM_PERM), dtype=np.uint64))

    @classmethod
    def of(cls, documents: list[Document]) -> "Signatures":
        digests, rows = [], []
        for doc in documents:
            text = squashed(doc.text)
            digests.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
            rows.append(minhash(text).hashvalues if len(text) >= MIN_CHARS else np.zeros(NUM_PERM, dtype=np.uint64))
        return cls([d.doc_id for d in documents], digests, np.asarray(rows, dtype=np.uint64).reshape(-1, NUM_PERM))

    @cached_property
    def row_of(self) -> dict[str, int]:
        """doc id -> row (computed once: a segment's signatures never change)."""
        return {d: i for i, d in enumerate(self.doc_ids)}

    @cached_property
    def row_of_digest(self) -> dict[str, int]:
        """text digest -> its first row."""
        out: dict[str, int] = {}
        for i, d in enumerate(self.digests):
            out.setdefault(d, i)
        return out

    def select(self, doc_ids) -> "Signatures":
        """The signatures of `doc_ids` that are here, in this order."""
        rows = [i for i, d in enumerate(self.doc_ids) if d in doc_ids]
        return Signatures([self.doc_ids[i] for i in rows], [self.digests[i] for i in rows], self.minhashes[rows])

    @classmethod
    def concatenate(cls, parts: list["Signatures"]) -> "Signatures":
        return cls([d for p in parts for d in p.doc_ids], [d for p in parts for d in p.digests],
                   np.concatenate([p.minhashes for p in parts]) if parts else np.zeros((0, NUM_PERM), np.uint64))

    def save(self, folder: Path) -> None:
        np.savez(Path(folder) / SIGNATURES, doc_ids=np.asarray(self.doc_ids, dtype=str),
                 digests=np.asarray(self.digests, dtype=str), minhashes=self.minhashes)

    @classmethod
    def load(cls, folder: Path) -> "Signatures":
        with np.load(Path(folder) / SIGNATURES, allow_pickle=False) as data:
            return cls(data["doc_ids"].tolist(), data["digests"].tolist(), data["minhashes"].astype(np.uint64))


def drop_duplicates(documents: list[Document]) -> tuple[list[Document], dict[str, list[dict]], list[str]]:
    """(documents kept, kept doc id -> its copies left out, notices). The first of a set of copies (in
    corpus order) is kept."""
    return drop_duplicates_signed(documents)[:3]


def drop_duplicates_signed(documents: list[Document]) -> tuple[list[Document], dict[str, list[dict]], list[str], Signatures]:
    """`drop_duplicates`, and the signatures of the documents kept."""
    return _drop(documents, {}, {}, _Banded())


Known = list[tuple[Signatures, frozenset[str]]]  # signatures part by part (a segment's), and its doc ids left out


def drop_duplicates_of(known: Known, documents: list[Document]
                       ) -> tuple[list[Document], dict[str, list[dict]], list[str], Signatures]:
    """`drop_duplicates_signed` of the documents already indexed (`known`, kept as they are) followed by new
    `documents`, returning only what concerns the new ones. Each new document is compared with every known and
    every earlier new one (a change brings a few documents to a large library: all pairs cost a comparison of
    its MinHash with the library's, not a reading of the library). The known signatures are read part by part
    where they are, not gathered into one table (at 40,000 documents that copy cost each change 0.06 s)."""
    return _drop(documents, _KnownDigests(known), {}, _AllPairs(known))


class _KnownDigests:
    """Text digest -> doc id over the known parts (their left-out documents set aside) and the new ones kept."""

    def __init__(self, known: Known):
        self.known = known
        self.new: dict[str, str] = {}

    def get(self, digest: str) -> str | None:
        if digest in self.new:
            return self.new[digest]
        for part, out in self.known:
            row = part.row_of_digest.get(digest)
            if row is not None and part.doc_ids[row] in out:  # left out: another row may hold the same text
                row = next((i for i, d in enumerate(part.digests) if d == digest and part.doc_ids[i] not in out), None)
            if row is not None:
                return part.doc_ids[row]
        return None

    def __setitem__(self, digest: str, doc_id: str) -> None:
        self.new[digest] = doc_id


class _Banded:
    """Near-duplicate candidates by LSH (datasketch): a build compares every document with every other."""

    def __init__(self):
        from datasketch import MinHashLSH  # see minhash

        self.lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self.hashes: dict[str, MinHash] = {}

    def nearest(self, m: "MinHash") -> tuple[str | None, float]:
        best, best_sim = None, 0.0
        for key in self.lsh.query(m):
            sim = m.jaccard(self.hashes[key])
            if sim >= THRESHOLD and sim > best_sim:
                best, best_sim = key, sim
        return best, best_sim

    def keep(self, doc_id: str, m: "MinHash | None") -> None:
        if m is not None and doc_id not in self.hashes:
            self.lsh.insert(doc_id, m)
            self.hashes[doc_id] = m


class _AllPairs:
    """Every known and kept document compared with the MinHash asked about, in numpy, part by part."""

    def __init__(self, known: Known):
        self.parts = [(part.minhashes, part.doc_ids, [part.row_of[d] for d in out if d in part.row_of])
                      for part, out in known]
        self.ids: list[str] = []
        self.kept: list[np.ndarray] = []

    def nearest(self, m: "MinHash") -> tuple[str | None, float]:
        # a row of zeros (a short document) never matches: MinHash values are never all zero
        best, best_sim = None, -1.0
        kept = (np.asarray(self.kept, dtype=np.uint64).reshape(-1, NUM_PERM), self.ids, [])
        for hashes, ids, out in self.parts + [kept]:  # the first of equals wins, as in one table
            if not len(hashes):
                continue
            sims = (hashes == m.hashvalues).mean(axis=1)
            sims[out] = -1.0
            row = int(np.argmax(sims))
            if sims[row] > best_sim:
                best, best_sim = ids[row], float(sims[row])
        return (best, best_sim) if best is not None and best_sim >= THRESHOLD else (None, 0.0)

    def keep(self, doc_id: str, m: "MinHash | None") -> None:
        self.ids.append(doc_id)
        self.kept.append(m.hashvalues if m is not None else np.zeros(NUM_PERM, dtype=np.uint64))


def _drop(documents: list[Document], exact: "dict[str, str] | _KnownDigests", paths: dict[str, str], near
          ) -> tuple[list[Document], dict[str, list[dict]], list[str], Signatures]:
    """The documents kept in order, the copies left out (by the doc id kept), notices and the kept ones'
    signatures. `exact`: text digest -> doc id already kept; `near`: finds a near-duplicate among those kept."""
    kept: list[Document] = []
    copies: dict[str, list[dict]] = {}
    notices: list[str] = []
    digests, rows = [], []
    for doc in documents:
        text = squashed(doc.text)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        original = exact.get(digest)
        if original is not None:
            copies.setdefault(original, []).append(_copy(doc, "exact", 1.0))
            notices.append(f"skipped {doc.path or doc.doc_id}: the same text as {paths.get(original) or original} (indexed once)")
            continue
        m = minhash(text) if len(text) >= MIN_CHARS else None
        if m is not None:
            best, sim = near.nearest(m)
            if best is not None:
                copies.setdefault(best, []).append(_copy(doc, "near", sim))
                notices.append(f"skipped {doc.path or doc.doc_id}: a near-duplicate of {paths.get(best) or best} "
                               f"(similarity {sim:.2f}; indexed once, cited as 另见)")
                continue
        near.keep(doc.doc_id, m)
        exact[digest] = doc.doc_id
        paths.setdefault(doc.doc_id, doc.path)
        kept.append(doc)
        digests.append(digest)
        rows.append(m.hashvalues if m is not None else np.zeros(NUM_PERM, dtype=np.uint64))
    return kept, copies, notices, Signatures([d.doc_id for d in kept], digests,
                                             np.asarray(rows, dtype=np.uint64).reshape(-1, NUM_PERM))
