"""Segments: a change writes only its own segment, and searching the segments finds what one index rebuilt from
the same documents finds (the real model, real FAISS, the seed documents)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from index import build_index, collection, load_index
from index.collection.merging import MERGE_FACTOR, merge, plan_merge
from index.collection.updating import repair
from index.store import EMBEDDINGS, disk, live_version, segment_folders
from index.store.ann import is_coded, vectors
from qa import Searcher

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "corpus").glob("*.txt"))
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval/questions/seed.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The seed corpus indexed once; its embedding cache lets each test build its own copy in seconds."""
    root = tmp_path_factory.mktemp("template")
    build_index(ROOT / "corpus", root / "index", progress=False)
    return root / "index" / EMBEDDINGS


def _library(tmp_path: Path, template: Path, seeds: list[Path]) -> tuple[Path, Path]:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for path in seeds:
        shutil.copy(path, corpus / path.name)
    shutil.copytree(template, index_dir / EMBEDDINGS)
    build_index(corpus, index_dir, progress=False)
    return corpus, index_dir


TIE = 1e-5  # float32 dot products of the same vectors in another order or batch differ in the last bits (BLAS
# blocks rows differently): ~1e-7 of a cosine, up to a few 1e-6 of a fused score after the z-scores


def _results(searcher: Searcher, question: str, retriever: str) -> dict[tuple, float]:
    """The top 10: (doc id, start, end) -> score, in ranked order."""
    return {(p.doc_id, p.start, p.end): p.score for p in searcher.search(question, k=10, retriever=retriever)}


def _assert_same_ranking(ours: dict[tuple, float], theirs: dict[tuple, float], why) -> None:
    """The same passages with the same scores (within TIE), ranked in the same order but for passages whose
    scores tie within TIE."""
    assert ours.keys() == theirs.keys(), why
    assert all(abs(ours[k] - theirs[k]) <= TIE for k in ours), why
    ranked = list(ours)
    assert all(theirs[a] >= theirs[b] - TIE for a, b in zip(ranked, ranked[1:])), why


def _neighbour_keys(index) -> dict[tuple, list[tuple]]:
    keys = [(c.doc_id, c.start) for c in index.chunks]
    return {keys[i]: sorted(keys[j] for j in row if j >= 0) for i, row in enumerate(index.neighbours)}


def _assert_same_as_a_rebuild(index_dir: Path, corpus: Path, tmp_path: Path, template: Path) -> None:
    fresh_dir = tmp_path / f"fresh-{time.monotonic_ns()}"
    shutil.copytree(template, fresh_dir / EMBEDDINGS)
    fresh, _ = build_index(corpus, fresh_dir, progress=False)
    now = load_index(index_dir)
    assert sorted(now.documents) == sorted(fresh.documents)
    assert sorted((c.doc_id, c.start, c.text) for c in now.chunks) == sorted((c.doc_id, c.start, c.text) for c in fresh.chunks)
    assert _neighbour_keys(now) == _neighbour_keys(fresh)
    ours, theirs = Searcher(now), Searcher(fresh)
    for question in QUESTIONS:
        for retriever in ("bm25", "dense", "hybrid"):
            _assert_same_ranking(_results(ours, question, retriever), _results(theirs, question, retriever), (question, retriever))


def test_changes_write_segments_and_search_them_as_one_rebuilt_index(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, SEEDS[:3])
    first = segment_folders(index_dir)
    assert len(first) == 1
    # two adds, a removal, a replacement: four changes, each a segment of its own (the removal's holds only the
    # new lists of the chunks whose nearest chunks it took away)
    for path in SEEDS[3:]:
        collection.add(index_dir, [path], progress=False, merge=False)
    collection.remove(index_dir, [SEEDS[0].stem], progress=False, merge=False)
    edited = corpus / SEEDS[1].name
    edited.write_text(edited.read_text(encoding="utf-8").replace("营商环境", "营商生态", 3), encoding="utf-8")
    _, _, changes = collection.sync(index_dir, progress=False, merge=False)
    assert changes
    folders = segment_folders(index_dir)
    assert folders[0] == first[0] and len(folders) == 5
    manifest = json.loads((live_version(index_dir) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["segments"][0]["deleted"] == sorted([SEEDS[0].stem, SEEDS[1].stem])
    _assert_same_as_a_rebuild(index_dir, corpus, tmp_path, template)

    # merged into one: the same again, the deleted chunks gone; the old segments stay while a kept version names them
    index, report = merge(index_dir, everything=True)
    assert report.merged == 5 and report.dropped > 0 and len(index.segments) == 1
    assert all(f.is_dir() for f in folders)
    _assert_same_as_a_rebuild(index_dir, corpus, tmp_path, template)
    old = time.time() - disk.KEEP_PREVIOUS_SECONDS - 60
    for version in index_dir.glob("v-*"):
        os.utime(version, (old, old))
    collection.add(index_dir, [SEEDS[0]], progress=False, merge=False)  # the next switch cleans up
    left = {p.name for p in (index_dir / disk.SEGMENTS).iterdir()}
    assert left == {f.name for f in segment_folders(index_dir)} and not any(f.name in left for f in folders)


def test_a_reader_keeps_the_segments_of_its_version(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, SEEDS[:2])
    reader = Searcher(load_index(index_dir))
    before = list(_results(reader, "哪些城市推行拿地即开工?", "hybrid").items())
    collection.add(index_dir, [SEEDS[2]], progress=False, merge=False)
    merge(index_dir, everything=True)
    collection.remove(index_dir, [SEEDS[0].stem], progress=False, merge=False)
    assert list(_results(reader, "哪些城市推行拿地即开工?", "hybrid").items()) == before  # on its own version
    assert Searcher(load_index(index_dir)).search("哪些城市推行拿地即开工?", k=3)


def test_a_reopened_version_reuses_the_segments_it_has(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, SEEDS[:2])
    before = load_index(index_dir)
    collection.add(index_dir, [SEEDS[2]], progress=False, merge=False)
    after = disk.load(index_dir, previous=before)
    assert after.segments[0] is before.segments[0] and len(after.segments) == 2


def test_a_merge_codes_the_vectors_of_a_coded_segment_to_the_same_bytes(tmp_path, template):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for path in SEEDS[:3]:
        shutil.copy(path, corpus / path.name)
    shutil.copytree(template, index_dir / EMBEDDINGS)
    build_index(corpus, index_dir, progress=False, ann_from=100, coded_from=100)  # the seeds' sentences: 8-bit codes
    before = load_index(index_dir)
    assert is_coded(before.segments[0].sentences)
    collection.add(index_dir, [SEEDS[3]], progress=False, merge=False)
    merged, report = merge(index_dir, everything=True, ann_from=100, coded_from=100)
    assert report.merged == 2 and is_coded(merged.segments[0].sentences)
    n = before.segments[0].sentences.ntotal  # the first segment's sentences come first, none deleted
    assert np.array_equal(vectors(merged.segments[0].sentences).codes[:n], vectors(before.segments[0].sentences).codes)
    # so its sentences score as they did; a rebuild learns other ranges from all of them, and scores move
    question = Searcher(merged).embedder.encode_query(QUESTIONS[0]).reshape(-1)
    assert np.array_equal(merged.sentences.dot(np.arange(n), question), before.sentences.dot(np.arange(n), question))


def test_the_policy_merges_a_full_tier_and_mostly_deleted_segments(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, SEEDS[:1])
    index = load_index(index_dir)
    assert plan_merge(index) == []
    notices = tmp_path / "notices"
    notices.mkdir()
    for n in range(MERGE_FACTOR - 1):
        path = notices / f"通知{n}.txt"
        path.write_text(f"关于第{n}批项目的通知\n\n第{n}批共{n + 3}个项目实行拿地即开工，审批时限压缩{n + 10}%。\n", encoding="utf-8")
        index, *_ = collection.add(index_dir, [path], progress=False, merge=False)
    assert len(index.segments) == MERGE_FACTOR and plan_merge(index) == list(range(MERGE_FACTOR))
    index, report = merge(index_dir)
    assert len(index.segments) == 1 and report.merged == MERGE_FACTOR
    # a change merges by the policy by itself: here a removal that leaves most of a segment deleted
    index, report, _ = collection.remove(index_dir, [SEEDS[0].stem, "通知0"], progress=False)
    assert report.merge is not None and report.merge.dropped == report.chunks_removed > len(index.chunks)
    assert len(index.segments) == 1 and not index.deleted[0] and index.n_chunks == len(index.segments[0])


def test_a_server_merges_in_the_background_and_answers_from_the_merged_version(tmp_path, template):
    from qa import LiveSearcher

    corpus, index_dir = _library(tmp_path, template, SEEDS[:1])
    live = LiveSearcher(Searcher(load_index(index_dir)), index_dir)
    for path in SEEDS[1:]:
        collection.add(index_dir, [path], progress=False, merge=False)
    live.refresh()
    segments = len(live.current.store.index.segments)
    assert segments == len(SEEDS) and plan_merge(live.current.store.index) == []  # below the policy's tier size
    # ten of a tier: merged by the policy in the background, answered from the merged version
    notices = tmp_path / "notices"
    notices.mkdir()
    for n in range(MERGE_FACTOR - segments):
        path = notices / f"通知{n}.txt"
        path.write_text(f"关于第{n}批项目的通知\n\n第{n}批共{n + 3}个项目实行拿地即开工，审批时限压缩{n + 10}%。\n", encoding="utf-8")
        collection.add(index_dir, [path], progress=False, merge=False)
    live.refresh()
    assert len(live.current.store.index.segments) == MERGE_FACTOR
    before = _results(live.current, "哪些城市推行拿地即开工?", "hybrid")
    live.merge_in_background()
    live.wait_for_merges()
    assert len(live.current.store.index.segments) == 1
    _assert_same_ranking(_results(live.current, "哪些城市推行拿地即开工?", "hybrid"), before, "merged")


def test_a_removal_left_for_repair_is_answered_at_once_and_repaired_to_what_a_rebuild_finds(tmp_path, template):
    from qa import LiveSearcher

    corpus, index_dir = _library(tmp_path, template, SEEDS)
    live = LiveSearcher(Searcher(load_index(index_dir)), index_dir)
    # as the page removes: the version without the document first, its nearest-chunk lists left for the background
    index, report, _ = collection.remove(index_dir, [SEEDS[0].stem], progress=False, merge=False, repair=False,
                                         previous=live.current.store.index)
    assert report.unrepaired > 0 and index.gaps() == report.unrepaired and SEEDS[0].stem not in index.documents
    live.refresh()
    assert all(p.doc_id != SEEDS[0].stem for p in live.current.search("哪些城市推行拿地即开工?", k=10))
    live.merge_in_background()  # repairs, then merges by the policy (nothing to merge here)
    live.wait_for_merges()
    # the removal wrote no segment (nothing of its own), the repair one holding only the new lists
    assert live.current.store.index.gaps() == 0 and len(live.current.store.index.segments) == 2
    version = live_version(index_dir)
    assert repair(index_dir)[1] == 0 and live_version(index_dir) == version  # nothing left to repair: no version
    _assert_same_as_a_rebuild(index_dir, corpus, tmp_path, template)


def test_zhqa_optimize_merges_every_segment(tmp_path, template):
    import subprocess
    import sys

    corpus, index_dir = _library(tmp_path, template, SEEDS[:2])
    collection.add(index_dir, [SEEDS[2]], progress=False, merge=False)
    collection.remove(index_dir, [SEEDS[0].stem], progress=False, merge=False)
    assert len(segment_folders(index_dir)) >= 2
    done = subprocess.run([sys.executable, "-m", "ui.cli", "optimize", "--index", str(index_dir)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "index optimized: merged" in done.stderr
    index = load_index(index_dir)
    assert len(index.segments) == 1 and sorted(index.documents) == sorted(p.stem for p in SEEDS[1:3])
    again = subprocess.run([sys.executable, "-m", "ui.cli", "optimize", "--index", str(index_dir)], cwd=ROOT,
                           capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert again.returncode == 0 and "nothing to merge" in again.stderr
    audit = [json.loads(line) for line in (index_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [a["outcome"] for a in audit if a["action"] == "optimize"] == ["ok", "unchanged"]


# A child process that kills itself with SIGKILL at its Nth step of writing to disk (a flush, a rename, a folder's
# deletion), so that 20 runs die at 20 different points of the same change, each a point a power cut could hit.
KILLED_AT_STEP = r"""
import os, shutil, signal, sys
from pathlib import Path
sys.path.insert(0, os.environ["ROOT"])
steps, at = [0], int(os.environ["KILL_AT"])
def step(fn):
    def counted(*args, **kwargs):
        steps[0] += 1
        if steps[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return counted
os.fsync, os.replace, shutil.rmtree = step(os.fsync), step(os.replace), step(shutil.rmtree)
from index import collection
from index.collection.merging import merge
index_dir = Path(sys.argv[2])
if sys.argv[1] == "merge":
    merge(index_dir, everything=True)
else:
    collection.add(index_dir, [Path(sys.argv[3])], progress=False, merge=False)
print("STEPS", steps[0])
"""


def _killed_at(step: int, *args: str) -> tuple[bool, int]:
    """(whether the child was killed, the steps it counted when it was not)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILLED_AT_STEP, *args], capture_output=True, text=True,
                          env={**os.environ, "ROOT": str(ROOT), "KILL_AT": str(step), "HF_HUB_OFFLINE": "1"})
    if done.returncode == -9:
        return True, 0
    assert done.returncode == 0, done.stderr[-3000:]
    return False, int(done.stdout.split("STEPS")[-1])


def _notice(folder: Path, n: int) -> Path:
    path = folder / f"批次{n}.txt"
    path.write_text(f"关于第{n}批企业开办服务的通知\n\n第{n}批{n + 20}家企业实行开办“零成本”，营业执照当天邮寄。\n",
                    encoding="utf-8")
    return path


def test_sigkill_at_twenty_points_of_an_add_and_of_a_merge_loses_nothing_acknowledged(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, SEEDS[:2])
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    question = "哪些城市推行拿地即开工?"
    acknowledged = set(load_index(index_dir).documents)
    # how many steps a whole add takes, then 20 adds killed at 20 points spread over them
    killed, total = _killed_at(10**6, "add", str(index_dir), str(_notice(incoming, 0)))
    assert not killed and total >= 20
    acknowledged.add("批次0")
    kills = 0
    for attempt, step in enumerate(np.linspace(1, total, 20).astype(int), start=1):
        path = _notice(incoming, attempt)
        was_killed, _ = _killed_at(int(step), "add", str(index_dir), str(path))
        kills += was_killed
        index = load_index(index_dir)  # opens, whatever the moment of the kill
        assert acknowledged <= set(index.documents), (attempt, step)
        if path.stem in index.documents:  # the switch happened before the kill: the change is whole
            assert any(c.doc_id == path.stem for c in index.chunks)
        assert Searcher(index).search(question, k=3)
        collection.add(index_dir, [path], progress=False, merge=False)  # now it is acknowledged
        acknowledged.add(path.stem)
    assert kills >= 19
    before = load_index(index_dir)
    assert len(before.segments) >= 20
    answer = _results(Searcher(before), question, "hybrid")
    # the merge of those segments, from the same state each time: counted on a copy, killed at 20 points
    pristine = tmp_path / "pristine"
    shutil.copytree(index_dir, pristine)
    shutil.copytree(pristine, tmp_path / "count")
    killed, total = _killed_at(10**6, "merge", str(tmp_path / "count"))
    assert not killed and total >= 20
    kills = 0
    for n, step in enumerate(np.linspace(1, total, 20).astype(int)):
        work = tmp_path / f"merge{n}"
        shutil.copytree(pristine, work)
        was_killed, _ = _killed_at(int(step), "merge", str(work))
        kills += was_killed
        index = load_index(work)
        assert set(index.documents) == acknowledged and len(index.segments) in (1, len(before.segments)), step
        _assert_same_ranking(_results(Searcher(index), question, "hybrid"), answer, step)
        index, _ = merge(work, everything=True)  # and a merge after the kill completes
        assert len(index.segments) == 1 and set(index.documents) == acknowledged
        named = {f.name for version in work.glob("v-*") for f in segment_folders(work, version)}
        assert {f.name for f in (work / disk.SEGMENTS).iterdir() if not f.name.startswith(disk.STAGING)} <= named
    assert kills >= 19
