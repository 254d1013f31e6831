"""A setup step: the default model as an int8 ONNX Runtime encoder, beside the converted float32 folder.

    python -m index.encoder.onnx_export [--model-dir DIR] [--force]

The transformer is exported to ONNX (torch's exporter) and its weight matrix multiplications are quantized
to int8 with per-channel scales (onnxruntime's dynamic quantization), except each layer's second feed-forward
projection, whose input (after GELU) has the outlying activations that int8 handles worst. Measured over the
72 seed chunks against the float32 vectors (mean cosine, speed on two cores): everything quantized 0.986,
2.1x; every MatMul per channel 0.998, 3.0x; without the second feed-forward projection 0.9994, 2.7x; and on
stard_train the middle choice lost 0.007 nDCG@10, more than the 0.005 allowed. The embedding table and the
layer norms stay float32. The file is made once by setup, never committed, and written atomically.

Beside it, setup writes the same model split in two (`split_word_embeddings`): the graph without its word-
embedding table, and the table as a .npy file that the encoder maps into memory (see `index.config`); and the
tokenizer as sentencepiece files, which the int8 path reads (`lean_tokens`).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from index.config import int8_path, int8_split_paths
from index.encoder.lean_tokens import write_sentencepiece
from index.encoder.model_convert import ensure_default_model


def _feed_forward_outputs(path: Path) -> list[str]:
    """Names of the MatMuls that project the feed-forward's wide hidden layer back to the model width,
    found by their weight's shape (intermediate x hidden), not by the exporter's node names."""
    graph = onnx.load(str(path)).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    matmuls = [(node.name, shapes.get(node.input[1])) for node in graph.node if node.op_type == "MatMul"]
    widths = [shape for _, shape in matmuls if shape and len(shape) == 2]
    hidden = min(min(shape) for shape in widths)
    return [name for name, shape in matmuls if shape and len(shape) == 2 and shape[0] > hidden and shape[1] == hidden]


def export_int8(model_dir: Path, force: bool = False) -> Path:
    """Write (once) the int8 ONNX encoder of the sentence-transformers folder `model_dir`; return its path."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    target = int8_path(model_dir)
    if target.is_file() and not force:
        return target
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    transformer = model[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = model.tokenizer(["passage: 示例文本"], return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        plain, quantized = Path(tmp) / "model.onnx", Path(tmp) / "model_int8.onnx"
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            LastHiddenState(transformer), (example["input_ids"], example["attention_mask"]), str(plain),
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )
        logging.getLogger().setLevel(logging.ERROR)  # the quantizer suggests a pre-processing step, every time
        quantize_dynamic(str(plain), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=_feed_forward_outputs(plain))
        with open(quantized, "rb") as f:
            os.fsync(f.fileno())
        os.replace(quantized, target)
    return target


def split_word_embeddings(model_dir: Path, force: bool = False) -> tuple[Path, Path]:
    """Write (once) the int8 export of `model_dir` as two files: the graph with the word-embedding lookup
    replaced by an input that takes the looked-up rows, and the table as .npy; each written atomically."""
    body_path, table_path = int8_split_paths(model_dir)
    if body_path.is_file() and table_path.is_file() and not force:
        return body_path, table_path
    model = onnx.load(str(int8_path(model_dir)))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    # the lookup: a Gather from a float table whose first input is a weight and second the token ids
    lookup = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] in weights and n.input[1] == "input_ids"
                  and weights[n.input[0]].data_type == TensorProto.FLOAT and len(weights[n.input[0]].dims) == 2)
    table = numpy_helper.to_array(weights[lookup.input[0]])
    graph.node.remove(lookup)
    graph.initializer.remove(weights[lookup.input[0]])
    graph.input.append(helper.make_tensor_value_info(lookup.output[0], TensorProto.FLOAT, ["batch", "tokens", table.shape[1]]))
    with tempfile.TemporaryDirectory(dir=body_path.parent) as tmp:
        body_tmp, table_tmp = Path(tmp) / "body.onnx", Path(tmp) / "words.npy"
        onnx.save(model, str(body_tmp))
        np.save(table_tmp, np.ascontiguousarray(table, dtype="<f4"))
        for path, final in ((table_tmp, table_path), (body_tmp, body_path)):  # the body last: it says both are there
            with open(path, "rb") as f:
                os.fsync(f.fileno())
            os.replace(path, final)
    return body_path, table_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.encoder.onnx_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="sentence-transformers folder (default: the converted default model)")
    parser.add_argument("--force", action="store_true", help="export even if the file already exists")
    args = parser.parse_args(argv)
    model_dir = args.model_dir or ensure_default_model()
    path = export_int8(model_dir, force=args.force)
    body, table = split_word_embeddings(model_dir, force=args.force)
    pieces, _ = write_sentencepiece(model_dir, force=args.force)
    print(f"int8 encoder: {path} ({path.stat().st_size >> 20} MiB); split: {body.name} ({body.stat().st_size >> 20} MiB) "
          f"and {table.name} ({table.stat().st_size >> 20} MiB, mapped into memory); its tokenizer: {pieces.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
