"""Faults during a build, on real `zhqa build` runs with the real model, FAISS and files: SIGKILLs at random
moments and a full disk. Each time the previous index loads and answers exactly as before."""
from __future__ import annotations

import errno
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from index import build_index, load_index
from index.store import EMBEDDINGS, live_version
from qa import Searcher, ask
from ui.cli import main as zhqa_main

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("哪些城市推行拿地即开工?", "办理亲人后事有哪些便民服务?", "营商环境考核取得了什么成绩?")
KILLS = 20
# the progress bars a build prints, in order; the model is loaded between chunking and embedding
STAGES = re.compile(r"(reading|chunking|embedding sentences|embedding|neighbours|BM25):")


def _zhqa() -> list[str]:
    exe = Path(sys.executable).with_name("zhqa")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ui.cli"]


def _answers(index_dir: Path) -> dict[str, list[tuple]]:
    searcher = Searcher(load_index(index_dir))  # verifies every file's checksum: a half-written version fails here
    return {q: [(p.doc_id, p.start, p.end, p.text) for p in ask(searcher, q, k=5).passages] for q in QUESTIONS}


def _changed_corpus(folder: Path, run: int) -> Path:
    """The seeds plus a notice that differs on every run, so every rebuild has text to embed and changes the index."""
    folder.mkdir(exist_ok=True)
    for f in (ROOT / "corpus").iterdir():
        shutil.copy(f, folder / f.name)
    for old in folder.glob("notice-*.txt"):
        old.unlink()
    paragraphs = [f"运城市第{run}批推行企业开办“零成本”服务，新开办企业免费领取印章{run + i}枚，"
                  f"企业开办时间压缩至{i + 1}个工作日，惠及市场主体{1000 + 37 * run + i}户。" for i in range(40)]
    (folder / f"notice-{run}.txt").write_text(f"关于推行企业开办零成本服务的第{run}号通知\n" + "\n".join(paragraphs) + "\n",
                                              encoding="utf-8")
    return folder


@pytest.fixture
def seeded(tmp_path, seed_index_dir):
    """(seed corpus folder, index folder, answers): a copy of the seeds, indexed (no seed text encoded again)."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index_dir / EMBEDDINGS)
    build_index(corpus, index_dir, progress=False)
    return corpus, index_dir, _answers(index_dir)


def _staging(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.glob(".building-*")}


def _stage(log: Path, switched: bool, returncode: int, new_staging: bool) -> str:
    """Where the build was when it was killed, as far as its progress output and its files tell."""
    if switched:
        return "finished before the kill" if returncode == 0 else "after the switch, before exiting"
    if new_staging:
        return "saving"
    seen = STAGES.findall(log.read_text(encoding="utf-8", errors="replace"))
    if not seen:
        return "starting (imports, reading)"
    return {"chunking": "chunking / loading the model"}.get(seen[-1], seen[-1])


def test_sigkill_at_random_moments_of_a_build_leaves_the_index_answering(seeded, tmp_path):
    """Twenty `zhqa build` runs of a changed corpus, SIGKILLed at random moments spread over a whole build
    (fractions of an uncut build's duration, moments after embedding begins and moments just after the new
    version's files start being written): after each, the index loads and answers the same passages as before."""
    corpus, index_dir, before = seeded
    changed = tmp_path / "changed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start(run: int, log: Path) -> subprocess.Popen:
        _changed_corpus(changed, run)
        with open(log, "wb") as out:
            return subprocess.Popen([*_zhqa(), "build", "--corpus", str(changed), "--index", str(index_dir)],
                                    env=env, stdout=subprocess.DEVNULL, stderr=out)

    # an uncut rebuild: how long a build takes here, and proof that it does change the index
    began = time.monotonic()
    uncut = start(0, tmp_path / "uncut.log")
    assert uncut.wait(timeout=1800) == 0, (tmp_path / "uncut.log").read_text(errors="replace")[-2000:]
    duration = time.monotonic() - began
    assert "notice-0" in load_index(index_dir).documents
    build_index(corpus, index_dir, progress=False)  # back to the seeds (every vector comes from the cache)
    assert _answers(index_dir) == before

    rng = random.Random(13)
    stages: Counter[str] = Counter()
    for run in range(1, KILLS + 1):
        live, staging = live_version(index_dir), _staging(index_dir)
        log = tmp_path / f"run-{run}.log"
        build = start(run, log)
        try:
            if run % 4 == 0:  # just after the new version's first files appear: the save and the switch
                while build.poll() is None and not _staging(index_dir) - staging:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.03))
            elif run % 4 == 2:  # once embedding has begun: embedding, the neighbours, BM25
                while build.poll() is None and "embedding" not in log.read_text(errors="replace"):
                    time.sleep(0.01)
                build.wait(timeout=rng.uniform(0, 0.3) * duration)
            else:
                build.wait(timeout=rng.uniform(0.02, 1.0) * duration)
        except subprocess.TimeoutExpired:
            pass
        finally:
            build.send_signal(signal.SIGKILL)
            build.wait()
        switched = live_version(index_dir) != live
        stages[_stage(log, switched, build.returncode, bool(_staging(index_dir) - staging))] += 1
        if switched:  # the build switched before the kill: the new index is complete; go back to the seeds
            assert f"notice-{run}" in load_index(index_dir).documents
            build_index(corpus, index_dir, progress=False)
        assert _answers(index_dir) == before, f"run {run}"
    print(f"\n{KILLS} kills of `zhqa build` (uncut build {duration:.1f} s), where they landed: {dict(stages)}")
    # a later build over the staging folders the kills left behind works and answers as a fresh one
    build_index(corpus, index_dir, progress=False)
    assert _answers(index_dir) == before


def _limit_file_size(limit: int):
    def apply():  # runs in the child: writes beyond `limit` bytes fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _assert_untouched(index_dir: Path, live: Path, staging: set[str], before: dict) -> None:
    assert live_version(index_dir) == live
    assert _staging(index_dir) == staging, "a half-written version was left behind"
    assert not list((index_dir / EMBEDDINGS).rglob(".shard-*")), "a half-written embedding shard was left behind"
    assert not list(index_dir.glob(".CURRENT.*"))
    assert _answers(index_dir) == before


def test_a_file_size_limit_during_a_build_is_one_clear_line_and_keeps_the_index(seeded, tmp_path):
    """A real `zhqa build` whose writes fail (a file-size limit of 300 kB: the sentence vectors are larger)."""
    corpus, index_dir, before = seeded
    live, staging = live_version(index_dir), _staging(index_dir)
    changed = _changed_corpus(tmp_path / "changed", 1)
    out = subprocess.run([*_zhqa(), "build", "--corpus", str(changed), "--index", str(index_dir)],
                         capture_output=True, text=True, timeout=1800, preexec_fn=_limit_file_size(300_000))
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(f"zhqa: could not write the index at {index_dir}") and "file-size limit" in last, last
    assert "the previous index is unchanged" in last
    _assert_untouched(index_dir, live, staging, before)


@pytest.mark.parametrize("where", ["index", "embedding cache"])
def test_a_full_disk_during_a_build_is_one_clear_line_and_keeps_the_index(seeded, tmp_path, monkeypatch, capsys, where):
    """The disk fills while the new version is written (numpy's save) or while new vectors go to the
    embedding cache (numpy's savez): part of the file is written, then ENOSPC, as a real full disk does."""
    corpus, index_dir, before = seeded
    live, staging = live_version(index_dir), _staging(index_dir)
    changed = _changed_corpus(tmp_path / "changed", 1)
    name = "save" if where == "index" else "savez"
    real = getattr(np, name)

    def full_disk(file, *args, **kwargs):
        if hasattr(file, "write"):
            file.write(b"\x93NUMPY partial")
        else:
            Path(file).write_bytes(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, name, full_disk)
    code = zhqa_main(["build", "--corpus", str(changed), "--index", str(index_dir)])
    monkeypatch.setattr(np, name, real)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"zhqa: could not write the index at {index_dir}") and "the disk is full" in last, last
    _assert_untouched(index_dir, live, staging, before)
    # with space again the same build goes through
    assert zhqa_main(["build", "--corpus", str(changed), "--index", str(index_dir)]) == 0
    assert "notice-1" in load_index(index_dir).documents
