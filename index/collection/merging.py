"""Merging segments: fewer segments to search, and deleted chunks gone for good.

Every change adds a segment (see updating), so without merges a library that grows one upload at a time would be
searched in as many pieces as it had uploads. The policy is tiered by size, as Lucene's log-size policy: a
segment's tier is the order of magnitude of its live chunks (tier 0 below 1,000, tier 1 below 10,000, ...), and
when a tier holds MERGE_FACTOR segments they are merged into one of the next tier. So a chunk is written again
about once per tier (log10 of the library's size), a library holds at most MERGE_FACTOR - 1 segments per tier,
and the many small merges cost little while the rare large one happens as the library has grown tenfold since
the last. A segment with more than half of its chunks deleted is merged too (alone, if need be), so deleted
chunks do not stay in memory for ever. `zhqa optimize` merges everything into one segment.

A merge copies the live chunks' stored vectors, BM25 tokens, uids and nearest-chunk lists as they are (nothing is
embedded or tokenised again); the merged segment's vector indexes are built for its size (an HNSW graph from
ANN_FROM vectors on: that is what a large merge costs). It is written and switched to like any change, under the
writer lock; readers keep the version they opened, and the merged-away segments are deleted only once no version
kept for readers names them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index.store import disk as store
from index.store.ann import ANN_FROM, CODE_TRAINING, CODED_FROM, empty_index, every_core, is_coded
from index.store.bm25 import Postings
from index.store.chunk_tokens import ChunkTokens
from index.ingest.duplicates import Signatures
from index.store.disk import Index
from index.store.segment import NeighbourUpdates, Segment
from index.store.vector_parts import VectorParts

MERGE_FACTOR = 10
SMALLEST_TIER = 1_000  # live chunks: below this a segment is tier 0
MOSTLY_DELETED = 0.5
MERGE_BLOCK = 262_144  # vectors decoded and added at a time


@dataclass
class MergeReport:
    merged: int = 0  # segments merged
    segments: int = 0  # segments after
    chunks: int = 0  # live chunks written again
    dropped: int = 0  # deleted chunks left out
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.merged:
            return f"nothing to merge ({self.segments} segments)"
        return (f"merged {self.merged} segments into one ({self.chunks} chunks written again, {self.dropped} deleted "
                f"ones dropped) in {self.seconds:.1f} s; {self.segments} segments now")


def live_rows(index: Index, position: int) -> np.ndarray:
    """The rows of segment `position` whose chunks are live in `index`."""
    start = sum(len(s) for s in index.segments[:position])
    return np.flatnonzero(index.slot_chunk[start : start + len(index.segments[position])] >= 0)


def tier(live: int) -> int:
    return 0 if live < SMALLEST_TIER else int(math.log10(live / SMALLEST_TIER)) + 1


def plan_merge(index: Index) -> list[int]:
    """Positions of the segments the policy merges next (none: nothing to do)."""
    live = [len(live_rows(index, i)) for i in range(len(index.segments))]
    tiers = [tier(n) for n in live]
    by_tier: dict[int, list[int]] = {}
    for i, t in enumerate(tiers):
        by_tier.setdefault(t, []).append(i)
    for t in sorted(by_tier):
        if len(by_tier[t]) >= MERGE_FACTOR:
            return [i for i in range(len(index.segments)) if tiers[i] <= t]
    wasted = [i for i, s in enumerate(index.segments) if len(s) and live[i] < (1 - MOSTLY_DELETED) * len(s)]
    if wasted:
        # with the segments of its tier and below, so that a small leftover is not left alone
        top = max(tiers[i] for i in wasted)
        return [i for i in range(len(index.segments)) if tiers[i] <= top or i in wasted]
    return []


def merged_segment(index: Index, chosen: list[int], ann_from: int = ANN_FROM, coded_from: int = CODED_FROM) -> Segment:
    """One segment holding the live chunks of the segments at `chosen`, in that order, with their stored vectors,
    tokens, uids and current nearest-chunk lists; it carries, for chunks of other segments, the current lists that
    the chosen segments' updates had set."""
    starts = np.concatenate([[0], np.cumsum([len(s) for s in index.segments])]).astype(np.int64)
    lists, sims = index.neighbour_lists()
    documents, chunks, slots, dense_parts, sentence_parts, owners, token_parts = {}, [], [], [], [], [], []
    for i in chosen:
        segment, gone = index.segments[i], index.deleted[i]
        rows = live_rows(index, i)
        documents.update((d, doc) for d, doc in segment.documents.items() if d not in gone)
        chunks += [segment.chunks[r] for r in rows]
        new_row = np.full(len(segment), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows)) + sum(len(s) for s in slots)
        keep = new_row[segment.sentence_owner] >= 0
        dense_parts.append((segment.dense, rows))
        sentence_parts.append((segment.sentences, np.flatnonzero(keep)))
        owners.append(new_row[segment.sentence_owner[keep]])
        token_parts.append(segment.chunk_tokens().select(rows))
        slots.append(starts[i] + rows)
    slots = np.concatenate(slots) if slots else np.zeros(0, np.int64)
    d = index.dense.d
    tokens = concatenate_tokens(token_parts)
    # updates the chosen segments made to chunks outside them: their lists as they now stand
    inside = np.zeros(len(index.slot_chunk), dtype=bool)
    inside[slots] = True
    targets = np.unique(np.concatenate([index.segments[i].updates.uids for i in chosen] or [np.zeros(0, np.int64)]))
    target_slots = index.slots_of(targets)
    target_slots = target_slots[(target_slots >= 0)]
    target_slots = target_slots[~inside[target_slots] & (index.slot_chunk[target_slots] >= 0)]
    m = lists.shape[1]
    updates = (NeighbourUpdates(index.uids[target_slots], lists[target_slots], sims[target_slots])
               if len(target_slots) else NeighbourUpdates.empty(m))
    signatures = Signatures.concatenate([_signatures(index.segments[i]).select(set(index.segments[i].documents) - index.deleted[i])
                                         for i in chosen])
    return Segment(documents, chunks, merged_vectors(dense_parts, d, ann_from, coded_from),
                   merged_vectors(sentence_parts, d, ann_from, coded_from),
                   np.concatenate(owners).astype(np.int32) if owners else np.zeros(0, np.int32),
                   index.uids[slots], lists[slots], sims[slots], Postings.from_tokens(tokens), updates, tokens=tokens,
                   signatures=signatures)


def merged_vectors(parts: list[tuple[faiss.Index, np.ndarray]], d: int, ann_from: int = ANN_FROM,
                   coded_from: int = CODED_FROM) -> faiss.Index:
    """One index of the vectors at `rows` of each part's index, in order, added MERGE_BLOCK at a time (all of a
    large index's vectors decoded at once would be 3.5 GB for 2.3 million sentences, and then copied again). The
    code ranges of the largest coded part are kept, so its vectors are coded again to the same bytes."""
    source = VectorParts([index for index, _ in parts])
    slots = np.concatenate([rows.astype(np.int64) + start for (_, rows), start in zip(parts, source.starts)]
                           or [np.zeros(0, np.int64)])
    codes_of = max((index for index, _ in parts if is_coded(index)), key=lambda index: index.ntotal, default=None)

    def sample() -> np.ndarray:
        chosen = slots if len(slots) <= CODE_TRAINING else np.sort(np.random.default_rng(0).choice(slots, CODE_TRAINING, replace=False))
        return np.ascontiguousarray(source[chosen], dtype=np.float32)

    merged = empty_index(len(slots), d, ann_from, coded_from, codes_of, sample)
    for a in range(0, len(slots), MERGE_BLOCK):
        merged.add(np.ascontiguousarray(source[slots[a : a + MERGE_BLOCK]], dtype=np.float32))
    return merged


def _signatures(segment: Segment) -> Signatures:
    if segment.signatures is None:
        segment.signatures = Signatures.of(list(segment.documents.values()))
    return segment.signatures


def concatenate_tokens(parts: list[ChunkTokens]) -> ChunkTokens:
    """Several groups' tokens as one, over one vocabulary (each group's ids mapped into it)."""
    vocab: dict[str, int] = {}
    ids, lengths = [], []
    for part in parts:
        mapping = np.fromiter((vocab.setdefault(t, len(vocab)) for t in part.vocab), dtype=np.int32, count=len(part.vocab))
        ids.append(mapping[part.ids] if len(part.ids) else part.ids.astype(np.int32))
        lengths.append(np.diff(part.offsets))
    lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return ChunkTokens(np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32), offsets, list(vocab))


def merge(index_dir: Path, everything: bool = False, ann_from: int = ANN_FROM, coded_from: int = CODED_FROM,
          current: Index | None = None, previous: Index | None = None) -> tuple[Index, MergeReport]:
    """Merge the segments the policy picks (all of them with `everything`), as many rounds as it asks, under the
    writer lock; each round is a version of its own. `current`: the live version, loaded under the writer lock;
    else it is loaded, taking the segments `previous` (an earlier version in memory, a server's) holds."""
    started = time.perf_counter()
    report = MergeReport()
    with store.writer_lock(Path(index_dir)):
        index = current if current is not None else store.load(Path(index_dir), previous)
        while True:
            chosen = list(range(len(index.segments))) if everything else plan_merge(index)
            if everything and len(chosen) == 1 and not index.deleted[0] and not len(index.segments[0].updates):
                chosen = []
            if not chosen:
                break
            with every_core():
                segment = merged_segment(index, chosen, ann_from, coded_from)
            report.merged += len(chosen)
            report.chunks += len(segment)
            report.dropped += sum(len(index.segments[i]) for i in chosen) - len(segment)
            others = [i for i in range(len(index.segments)) if i not in chosen]
            index = Index(dict(index.manifest), [index.segments[i] for i in others] + [segment],
                          [index.deleted[i] for i in others] + [frozenset()])
            store.save(index, Path(index_dir))
            if everything:
                break
    report.segments = len(index.segments)
    report.seconds = time.perf_counter() - started
    return index, report
