"""Decoding a text file's bytes: a BOM, BOM-less UTF-16, UTF-8, GB18030 or charset-normalizer's best guess,
each candidate checked to look like Chinese or English text (see `decode_bytes`)."""
from __future__ import annotations

from charset_normalizer import from_bytes


class DecodeError(ValueError):
    """The bytes are not text in any supported encoding (binary or undecodable)."""


_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]


def _good_char(ch: str) -> bool:
    o = ord(ch)
    if ch in "\n\r\t\f":
        return True
    return (
        0x20 <= o < 0x7F
        or 0x4E00 <= o <= 0x9FFF  # CJK unified
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3FFFF
        or 0x3000 <= o <= 0x30FF  # CJK punctuation, kana
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0xFE30 <= o <= 0xFE4F
        or 0x2000 <= o <= 0x206F  # general punctuation “”…—
        or 0x2100 <= o <= 0x27BF  # letterlike, arrows, maths, enclosed ①, box drawing, shapes □■
        or 0x3200 <= o <= 0x33FF  # enclosed CJK, CJK compatibility
        or 0xAC00 <= o <= 0xD7AF  # Hangul
        or o in (0xA0, 0xB7, 0xD7, 0xF7, 0xB0, 0xA7, 0xFEFF)
    )  # accented Latin, Cyrillic etc. do not count: random bytes decoded as cp1252 are full of them


def plausible_text(text: str, threshold: float = 0.95) -> bool:
    """Mostly characters that occur in Chinese/English documents, and no stray control bytes."""
    if not text:
        return True
    sample = text[:20000]
    good = sum(1 for ch in sample if _good_char(ch))
    controls = sum(1 for ch in sample if ord(ch) < 0x20 and ch not in "\n\r\t\f")
    return good / len(sample) >= threshold and controls == 0


def _utf16_without_bom(data: bytes) -> str | None:
    """Decode BOM-less UTF-16 when the NUL bytes sit on one side of the code units."""
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    total = even + odd
    if total == 0 or len(data) % 2:
        return None
    if odd >= 0.9 * total:
        order = ["utf-16-le", "utf-16-be"]
    elif even >= 0.9 * total:
        order = ["utf-16-be", "utf-16-le"]
    else:
        return None
    for enc in order:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if plausible_text(text):
            return text
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding name). Raises `DecodeError` for binary or undecodable data.

    Order: a BOM (UTF-8, UTF-16/32); NUL bytes -> BOM-less UTF-16 by the NUL pattern, otherwise
    binary; strict UTF-8; strict GB18030 (a superset of GBK/GB2312); charset-normalizer's best
    guess; each non-UTF-8 candidate must look like text.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc.replace("-sig", "")), enc
            except UnicodeDecodeError as e:
                raise DecodeError(f"has a {enc} byte-order mark but does not decode as {enc}: {e.reason}") from e
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is not None:
            return text, "utf-16"
        raise DecodeError("binary file (NUL bytes, not UTF-16 text)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if plausible_text(text, 0.9):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        best = from_bytes(data).best()
    except Exception:  # pragma: no cover - the detector itself failing is treated like no match
        best = None
    if best is not None:
        text = str(best)
        if plausible_text(text, 0.9):
            return text, best.encoding
    raise DecodeError("undecodable (not UTF-8, UTF-16, GB18030 or another recognisable text encoding)")
