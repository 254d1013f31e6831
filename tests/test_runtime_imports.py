"""What answering a question loads: the embedder finds the converted model through index.config and never
imports the one-off converter (a binary-format parser that setup runs once)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from index.config import converted_model_dir, is_converted
from index.encoder import ModelError, resolve_model

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_embedding_and_search_do_not_import_the_converter():
    for statement in ("import index.encoder", "import qa", "from index.encoder import resolve_model; "
                      "resolve_model('multilingual-e5-small')"):
        assert "index.encoder.model_convert" not in _modules_after(statement), statement
    assert "index.encoder.model_convert" in _modules_after("import index.encoder.onnx_export")  # the check can see it


def test_the_default_model_resolves_to_the_converted_folder_or_says_how_to_convert(tmp_path, monkeypatch):
    folder = converted_model_dir()
    assert is_converted(folder), "setup converts the default model"
    assert resolve_model("multilingual-e5-small") == str(folder)
    monkeypatch.setenv("ZHQA_CACHE", str(tmp_path))  # an empty cache: nothing converted there
    with pytest.raises(ModelError, match="index.encoder.model_convert"):
        resolve_model("multilingual-e5-small")
    assert not any(tmp_path.iterdir())  # and nothing converted behind the user's back


def test_asking_with_the_int8_encoder_imports_no_torch_and_no_file_reader(seed_index_dir):
    """`zhqa ask` end to end (the seed index, the int8 encoder): neither torch, transformers nor
    sentence-transformers is loaded, nor any file format's reader, the near-duplicate finder, pymilvus, the
    text splitter (only chunking needs it) or the evaluation's own modules (metrics, benchmarks, reports)."""
    code = (
        "import io, sys, contextlib, json\n"
        "from ui import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = cli.main(['ask', '--no-sync', '--json', '--index', sys.argv[1], '身后一件事整合了多少事项'])\n"
        "answer = json.loads(out.getvalue())\n"
        "assert answer['passages'], answer\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(seed_index_dir)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    loaded = set(out.stdout.split())
    for heavy in ("torch", "transformers", "sentence_transformers", "pypdfium2", "rapidocr", "trafilatura", "docx",
                  "openpyxl", "PIL", "datasketch", "pymilvus", "pandas", "langchain_text_splitters", "ranx",
                  "eval.bench", "eval.runner", "eval.report", "numba", "llvmlite", "scipy"):
        assert heavy not in loaded, heavy
    # the tokenizer runs in sentencepiece: `tokenizers` (280 MB for this vocabulary) stays out
    assert "onnxruntime" in loaded and "sentencepiece" in loaded and "tokenizers" not in loaded
