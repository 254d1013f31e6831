"""A first answer in a second: `zhqa ask` end to end against the bare minimum, in one run.

    .venv/bin/python bench/first_answer.py [--index DIR] [--runs 5] [--checkout DIR]

The bare minimum is a Python process that imports onnxruntime and tokenizers, creates the int8 session (the split
export with its memory-mapped word table when setup made it, as the encoder does), loads
the index's files (FAISS vectors, documents, chunks) and encodes one question: what any answer must cost. Both
run as fresh processes, `--runs` times each, alternating; medians are printed with their ratio. `--checkout`
times another checkout's `zhqa ask` beside ours (an older commit, for a before/after table).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "身后一件事整合了多少事项"

BARE = r"""
import json, sys
from pathlib import Path
import numpy as np, onnxruntime, faiss
from tokenizers import Tokenizer
sys.path.insert(0, sys.argv[2])
from index.config import converted_model_dir, int8_path, int8_split_paths
folder = converted_model_dir()
tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1
body, table = int8_split_paths(folder)
split = body.is_file() and table.is_file()  # the split export when setup made it, as the encoder does
session = onnxruntime.InferenceSession(str(body if split else int8_path(folder)), options, providers=["CPUExecutionProvider"])
words = np.load(table, mmap_mode="r") if split else None
index = Path(sys.argv[1])
version = index / (index / "CURRENT").read_text().strip()
segment = index / "segments" / json.loads((version / "manifest.json").read_text(encoding="utf-8"))["segments"][0]["name"]
dense = faiss.read_index(str(segment / "dense.faiss"))
documents = [json.loads(line) for line in open(segment / "documents.jsonl", encoding="utf-8")]
chunks = [json.loads(line) for line in open(segment / "chunks.jsonl", encoding="utf-8")]
ids = tokenizer.encode("query: " + sys.argv[3]).ids
feed = {"input_ids": np.asarray([ids]), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
if split:
    feed[session.get_inputs()[2].name] = np.ascontiguousarray(words[feed["input_ids"]])
vector = session.run(None, feed)[0][0].mean(0)
print(dense.search((vector / np.linalg.norm(vector))[None].astype("float32"), 5)[1][0][0])
"""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".zhqa" / "index", help="a built index (default: the seed index)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkout", type=Path, help="another checkout whose `zhqa ask` is timed beside ours")
    args = parser.parse_args()
    index = args.index.resolve()
    if not (index / "CURRENT").is_file():
        sys.exit(f"no index at {index}: build one first (zhqa build)")
    ask = [sys.executable, "-m", "ui.cli", "ask", "--no-sync", "--json", "--index", str(index), QUESTION]
    runs = {"bare minimum": [], "zhqa ask (this checkout)": []}
    if args.checkout:
        runs["zhqa ask (--checkout)"] = []
    for _ in range(args.runs):
        runs["bare minimum"].append(timed([sys.executable, "-c", BARE, str(index), str(ROOT), QUESTION], ROOT))
        runs["zhqa ask (this checkout)"].append(timed(ask, ROOT))
        if args.checkout:
            runs["zhqa ask (--checkout)"].append(timed(ask, args.checkout.resolve()))
    bare = statistics.median(runs["bare minimum"])
    print(f"index {index.name}, {args.runs} runs each, fresh processes, medians:")
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        print(f"  {name:26} {median:6.2f} s  ({median / bare:4.2f}x the bare minimum; "
              f"min {min(seconds):.2f}, max {max(seconds):.2f})")


if __name__ == "__main__":
    main()
