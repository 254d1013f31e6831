"""Hostile files in a corpus folder: each is skipped with a message naming it (or read, if it is a document),
the rest is indexed, and nothing hangs: random bytes, truncated UTF-16, a BOM alone, NUL-filled text, a huge
single line, a symlink loop, odd file names (spaces, a newline, an emoji, bytes that are not UTF-8)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from index import build_index
from index.ingest import load_corpus
from qa import Searcher, ask

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "corpus" / "001_82eddd6c6af7ca57.txt"


def test_hostile_files_are_skipped_by_name_and_the_rest_is_indexed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(GOOD, corpus / "good.txt")
    (corpus / "random.txt").write_bytes(os.urandom(4096))
    (corpus / "utf16-cut.txt").write_bytes(b"\xff\xfe" + "营商环境".encode("utf-16-le")[:-1])
    (corpus / "bom-only.txt").write_bytes(b"\xef\xbb\xbf")
    (corpus / "nul.txt").write_bytes(b"\x00" * 10000)
    (corpus / "one-line.txt").write_text("很长的一行。" * 400_000, encoding="utf-8")  # 7 MB without a line break
    (corpus / "loop").mkdir()
    os.symlink(corpus / "loop", corpus / "loop" / "again")
    os.symlink(corpus / "missing-target.txt", corpus / "dangling.txt")
    (corpus / "名 字 有空格 🙂.txt").write_text("空格文件\n运城市推行企业开办零成本服务。", encoding="utf-8")
    (corpus / "line\nbreak.txt").write_text("换行文件名\n临汾市推行交房即交证。", encoding="utf-8")
    bad_name = os.fsencode(corpus) + b"/latin1-\xe9.txt"
    with open(bad_name, "wb") as f:
        f.write("编码文件名\n太原市推行拿地即开工。".encode("utf-8"))

    docs, warnings = load_corpus(corpus)
    said = "\n".join(warnings)
    for name in ("random.txt", "utf16-cut.txt", "bom-only.txt", "nul.txt", "one-line.txt", "dangling.txt"):
        assert sum(name in w for w in warnings) == 1, (name, said)
    assert "good" in {d.doc_id for d in docs}
    assert {"名 字 有空格 🙂", "line\nbreak"} <= {d.doc_id for d in docs}

    index, report = build_index(corpus, tmp_path / "index", progress=False)
    ids = set(index.documents)
    assert "good" in ids and "名 字 有空格 🙂" in ids
    assert any("latin1-" in d for d in ids)
    top = ask(Searcher(index), "太原市推行什么？", k=3).passages[0]
    assert "latin1-" in top.doc_id and "太原市" in top.text
    # the odd names survive the manifest: nothing looks changed to a sync, and a listing prints
    from index import collection

    assert not collection.sync(tmp_path / "index", progress=False)[2]
    import subprocess
    import sys

    listing = subprocess.run([str(Path(sys.executable).with_name("zhqa")), "list", "--index", str(tmp_path / "index"), "--json"],
                             capture_output=True, text=True, errors="replace")
    assert listing.returncode == 0 and "latin1-" in listing.stdout
