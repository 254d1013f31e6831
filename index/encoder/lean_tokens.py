"""The int8 encoder's tokenizer: the converted model's own tokenizer.json, run by sentencepiece.

Why not `tokenizers`, which reads tokenizer.json directly: for this 250,002-piece vocabulary it holds about
280 MB (its Unigram trie) and takes 0.7 s to load, in every process that asks a question; sentencepiece holds
about 55 MB and loads in 0.35 s. Setup writes two small sentencepiece files from tokenizer.json once
(`write_sentencepiece`, called by `python -m index.encoder.onnx_export`): the pieces with their scores (ids in
tokenizer.json's order) and the normalizer's character map. `LeanTokens` then runs tokenizer.json's own pipeline
step by step, so the ids and character offsets are the ones `tokenizers` (and so sentence-transformers) gives:
special tokens split off first (`<mask>` taking the spaces before it), the character map, runs of spaces as
one, a ▁ before the text unless it starts with a space, the Unigram pieces. tests/test_encoder.py compares
the two on every seed chunk, edge cases and fuzzed text.

One difference is not reproduced: `tokenizers` maps a character map entry over a whole grapheme (a letter with
its combining marks, an emoji sequence), keeping the first character's mapping and dropping the rest ("Ａ́" is
"A", where sentencepiece gives "Á"). A text with such a grapheme (rare in Chinese documents; "\r\n" is handled
here) is tokenized by `tokenizers` itself, loaded on the first one.
"""
from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading
from functools import cached_property
from pathlib import Path

import regex
import sentencepiece
from sentencepiece import sentencepiece_model_pb2 as spm_model

PIECES_FILE = "tokenizer.spm"  # the Unigram pieces and scores; a normalizer that changes nothing
NORMALIZER_FILE = "normalizer.spm"  # the character map alone
# tokenizer.json's special tokens, as model_convert.build_tokenizer declares them: matched in the raw text
# before anything else; only <mask> takes the whitespace before it (checked when the files are written)
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
TAKES_SPACE_BEFORE = {"<mask>"}
_SPECIAL_SPLIT = re.compile("(" + "|".join(("\\s*" if s in TAKES_SPACE_BEFORE else "") + re.escape(s) for s in SPECIALS) + ")")
_TYPES = {"normal": 1, "unknown": 2, "control": 3}
# characters that never join the next into one grapheme (CJK, ASCII, Latin-1 and their punctuation; "\r\n" is
# handled): a text of them alone needs no grapheme check
_ONE_CHARACTER_GRAPHEMES = re.compile("[\x00-\u02ff\u2010-\u205f\u3000-\u3029\u3030-\u3098\u309b-\u30ff"
                                      "\u3400-\u4dbf\u4e00-\u9fff\uff00-\uff9d]*")
_GRAPHEME = regex.compile(r"\X")


class TokenizerFilesError(RuntimeError):
    pass


def sentencepiece_paths(model_dir: Path) -> tuple[Path, Path]:
    return Path(model_dir) / PIECES_FILE, Path(model_dir) / NORMALIZER_FILE


def write_sentencepiece(model_dir: Path, force: bool = False) -> tuple[Path, Path]:
    """Write (once) the two sentencepiece files of `model_dir`'s tokenizer.json, each atomically, the pieces last
    (their presence says both are there)."""
    pieces_path, normalizer_path = sentencepiece_paths(model_dir)
    if pieces_path.is_file() and normalizer_path.is_file() and not force:
        return pieces_path, normalizer_path
    spec = json.loads((Path(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))
    model, steps = spec["model"], spec["normalizer"]["normalizers"]
    added = {t["content"]: t for t in spec["added_tokens"]}
    # the pipeline this module reproduces; anything else would give other ids, so it is refused here, once
    if (model["type"] != "Unigram" or model.get("byte_fallback") or [s["type"] for s in steps] != ["Precompiled", "Replace"]
            or spec["pre_tokenizer"]["type"] != "Metaspace" or spec["pre_tokenizer"].get("prepend_scheme") != "always"
            or set(added) != set(SPECIALS) or any(t["rstrip"] or t["single_word"] or t["normalized"] for t in added.values())
            or {c for c, t in added.items() if t["lstrip"]} != TAKES_SPACE_BEFORE):
        raise TokenizerFilesError(f"{model_dir}/tokenizer.json is not the XLM-R Unigram pipeline this tokenizer runs")
    ids = {c: t["id"] for c, t in added.items()}

    pieces = spm_model.ModelProto()
    for i, (piece, score) in enumerate(model["vocab"]):
        p = pieces.pieces.add()
        p.piece, p.score = piece, score
        p.type = _TYPES["unknown"] if i == model["unk_id"] else _TYPES["control"] if piece in ids else _TYPES["normal"]
    pieces.trainer_spec.model_type = spm_model.TrainerSpec.UNIGRAM
    pieces.trainer_spec.unk_id, pieces.trainer_spec.bos_id = model["unk_id"], ids["<s>"]
    pieces.trainer_spec.eos_id, pieces.trainer_spec.pad_id = ids["</s>"], ids["<pad>"]
    pieces.normalizer_spec.name = "identity"
    pieces.normalizer_spec.add_dummy_prefix = True
    pieces.normalizer_spec.remove_extra_whitespaces = False
    pieces.normalizer_spec.escape_whitespaces = True

    normalizer = spm_model.ModelProto()
    normalizer.normalizer_spec.name = "precompiled"
    normalizer.normalizer_spec.precompiled_charsmap = base64.b64decode(steps[0]["precompiled_charsmap"])
    normalizer.normalizer_spec.add_dummy_prefix = False
    normalizer.normalizer_spec.remove_extra_whitespaces = False
    normalizer.normalizer_spec.escape_whitespaces = False

    for proto, final in ((normalizer, normalizer_path), (pieces, pieces_path)):
        with tempfile.NamedTemporaryFile(dir=final.parent, delete=False) as tmp:
            tmp.write(proto.SerializeToString())
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)  # as the model's other files: a service's own user reads an installed copy
        os.replace(tmp.name, final)
    return pieces_path, normalizer_path


class LeanTokens:
    """Ids and character offsets of texts, as tokenizer.json gives them (see the module's docstring)."""

    def __init__(self, model_dir: Path):
        pieces_path, normalizer_path = sentencepiece_paths(model_dir)
        for path in (normalizer_path, pieces_path):
            if not path.is_file():
                raise FileNotFoundError(f"no {path.name} in {model_dir}")
        try:
            self._normalizer = sentencepiece.SentencePieceNormalizer(model_file=str(normalizer_path))
        except RuntimeError as exc:  # sentencepiece's word for a damaged file
            raise ValueError(f"{normalizer_path.name} is damaged: {exc}") from exc
        # the pieces (0.35 s) load in the background: sentencepiece lets go of the GIL, so a question's other
        # opening work (jieba's dictionary, the index files) runs meanwhile; the first encoding waits for them.
        # Not a daemon: a process that ends sooner waits for it, since ending inside sentencepiece's loading
        # aborts the process (a `zhqa remove` exited with SIGABRT)
        self._pieces_path = pieces_path
        self._pieces_loaded: sentencepiece.SentencePieceProcessor | Exception | None = None
        self._loader = threading.Thread(target=self._load_pieces, name="zhqa-tokenizer")
        self._loader.start()
        self._folder = Path(model_dir)
        self._reference = None  # `tokenizers`, for the rare text with a grapheme of several characters

    def _load_pieces(self) -> None:
        try:
            self._pieces_loaded = sentencepiece.SentencePieceProcessor(model_file=str(self._pieces_path))
        except RuntimeError as exc:  # sentencepiece's word for a damaged file
            self._pieces_loaded = ValueError(f"{self._pieces_path} is damaged ({exc}): run "
                                             "`python -m index.encoder.onnx_export --force`")

    @cached_property
    def _pieces(self) -> sentencepiece.SentencePieceProcessor:
        self._loader.join()
        if isinstance(self._pieces_loaded, Exception):
            raise self._pieces_loaded
        return self._pieces_loaded

    @cached_property
    def _special_ids(self) -> dict[str, int]:
        return {s: self._pieces.piece_to_id(s) for s in SPECIALS}

    @property
    def bos(self) -> int:
        return self._special_ids["<s>"]

    @property
    def eos(self) -> int:
        return self._special_ids["</s>"]

    def _needs_reference(self, text: str) -> bool:
        if _ONE_CHARACTER_GRAPHEMES.fullmatch(text):
            return False
        return len(_GRAPHEME.findall(text)) + text.count("\r\n") != len(text)

    def _reference_encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        if self._reference is None:
            # imported here: it holds ~280 MB, which most processes never need
            from tokenizers import Tokenizer

            self._reference = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
            self._reference.no_truncation()
        found = self._reference.encode(text, add_special_tokens=False)
        return list(found.ids), [tuple(o) for o in found.offsets]

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """(ids, character offsets in `text`) without <s> and </s>."""
        if self._needs_reference(text):
            return self._reference_encode(text)
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        pos = 0
        for part in _SPECIAL_SPLIT.split(text):
            if part:
                special = part.lstrip()
                if special in self._special_ids and (special == part or special in TAKES_SPACE_BEFORE):
                    ids.append(self._special_ids[special])
                    offsets.append((pos, pos + len(part)))
                else:
                    self._encode_plain(part, pos, ids, offsets)
                pos += len(part)
        return ids, offsets

    def _encode_plain(self, text: str, base: int, ids: list[int], offsets: list[tuple[int, int]]) -> None:
        normal, starts = self._normalizer.normalize(text, with_offsets=True)
        # each normalized character stands for its source character's whole span (an expansion such as ㍻ -> 平成
        # gives both characters the one source character)
        ends = [len(text)] * len(normal)
        for i in reversed(range(len(normal))):
            ends[i] = starts[i + 1] if starts[i + 1] > starts[i] else ends[i + 1] if i + 1 < len(normal) else len(text)
        # runs of spaces become one, standing for the run's last character
        kept: list[str] = []
        source: list[int] = []
        for i, ch in enumerate(normal):
            if ch == " " and kept and kept[-1] == " ":
                # "\r\n" is one grapheme, whose space stands for the "\r"
                if not (text[starts[i]] == "\n" and starts[i] and text[starts[i] - 1] == "\r" and starts[i - 1] == starts[i] - 1):
                    source[-1] = i
            else:
                kept.append(ch)
                source.append(i)
        # a leading space is the ▁ itself; otherwise a ▁ is put before the text (sentencepiece's dummy prefix)
        lead = source.pop(0) if kept and kept[0] == " " else None
        plain = "".join(kept[1:] if lead is not None else kept)
        if not plain:
            if lead is not None:
                ids.append(self._pieces.piece_to_id("\u2581"))
                offsets.append((base + starts[lead], base + ends[lead]))
            return
        char_at = {}  # sentencepiece's byte offsets -> characters of `plain`
        byte = 0
        for i, ch in enumerate(plain):
            char_at[byte] = i
            byte += len(ch.encode("utf-8"))
        char_at[byte] = len(plain)
        for k, piece in enumerate(self._pieces.encode(plain, return_type="proto").pieces):
            first, after = char_at[piece.begin], char_at[piece.end]
            if first < after:
                start, end = starts[source[first]], ends[source[after - 1]]
            elif lead is not None:  # a lone ▁: the leading space it stands for
                start, end = starts[lead], ends[lead]
            else:  # a lone ▁ put before the text: the first character's span
                start, end = starts[source[first]], ends[source[first]]
            if k == 0 and lead is not None:
                start = starts[lead]
            ids.append(piece.id)
            offsets.append((base + start, base + end))
