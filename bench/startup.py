"""How long `zhqa ask`/`serve` take to see that a large corpus is unchanged, in one run.

    .venv/bin/python bench/startup.py [--files 10000] [--kb 8]

Writes a corpus of --files text files of about --kb KiB each into a temporary folder, records it as a build
would (sha256 and size + modification time of every file), then times the check that opening an index makes:
with sizes and times matching (nothing is read), and the old way (every byte hashed). Prints both and their
ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.collection import corpus_changed, corpus_fingerprint, corpus_stat  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--kb", type=int, default=8)
    args = parser.parse_args()
    line = "关于进一步优化营商环境推行拿地即开工改革的实施意见。" * 4 + "\n"
    body = line * max(1, args.kb * 1024 // len(line.encode("utf-8")))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        for i in range(args.files):
            (corpus / f"{i:06d}.txt").write_text(f"文件{i}\n\n{body}", encoding="utf-8")
        manifest = {"corpus_files": corpus_fingerprint(corpus), "corpus_stat": corpus_stat(corpus)}
        started = time.perf_counter()
        assert not corpus_changed(corpus, manifest)
        by_stat = time.perf_counter() - started
        started = time.perf_counter()
        assert corpus_fingerprint(corpus) == manifest["corpus_files"]
        by_hash = time.perf_counter() - started
    print(f"{args.files} files of {args.kb} KiB: unchanged by size+mtime {by_stat:.3f} s, "
          f"by hashing every byte {by_hash:.3f} s, ratio {by_hash / by_stat:.1f}x")


if __name__ == "__main__":
    main()
