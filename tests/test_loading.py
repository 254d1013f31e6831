"""Loading: metadata of the seeds, encodings, binary files, JSONL bulk files."""
from __future__ import annotations

import json
import os
import random
import struct
import zlib
from pathlib import Path

import pytest

from index.document import Document
from index.ingest import DecodeError, decode_bytes, load_corpus
from index.ingest import parse_date

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Document]:
    docs, warnings = load_corpus(CORPUS)
    assert warnings == []
    return {d.doc_id[:3]: d for d in docs}


def test_seed_ids_are_file_stems(seeds):
    assert sorted(d.doc_id for d in seeds.values()) == sorted(p.stem for p in CORPUS.glob("*.txt"))
    for d in seeds.values():
        assert d.path.endswith(d.doc_id + ".txt")


@pytest.mark.parametrize(
    "key, title, date, source",
    [
        ("000", "坚定抓好营商环境,塑造高质量发展新形象", "2026-01-19", "太行日报"),
        ("001", "“营商沃土”夯实高质量发展之基", "2024-03-28", "济源日报"),
        ("002", "河南商丘:多点发力 助推营商环境持续优化", "", "中国经济导报"),
        ("003", "优化营商环境 厚植发展沃土", "", ""),
        ("004", "晋城市城区2023年营商环境创新提升行动方案", "2023-09-18", "晋城市城区人民政府"),
    ],
)
def test_seed_metadata(seeds, key, title, date, source):
    doc = seeds[key]
    assert (doc.title, doc.date, doc.source, doc.url) == (title, date, source, "")


def test_body_does_not_repeat_the_title(seeds):
    for doc in seeds.values():
        assert doc.paragraphs[0].replace(" ", "") != doc.title.replace(" ", "")
    assert seeds["000"].paragraphs[0].startswith("营商环境是企业生存发展的")
    assert "拿地即开工" in seeds["000"].paragraphs[11]
    assert seeds["001"].paragraphs[0] == "温度体现在政务服务再升级上——"
    # the signature block of the notice is part of its text
    assert "晋城市城区人民政府" in seeds["004"].paragraphs


def test_parse_date():
    assert parse_date("发布时间: 2026-01-19 09:27:31") == "2026-01-19"
    assert parse_date("2023年 9月 18日") == "2023-09-18"
    assert parse_date("二〇二三年九月十八日") == "2023-09-18"
    assert parse_date("2023年13月1日") == ""
    assert parse_date("今年以来") == ""


# ---- encodings --------------------------------------------------------------------------------

TEXT = "关于优化营商环境的通知\n\n各有关单位：\n\n现将有关事项通知如下，请认真贯彻落实。\n"


def _png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([255, 0, 0] * 4) for _ in range(4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture()
def mixed_corpus(tmp_path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a_utf8.txt").write_bytes(TEXT.encode("utf-8"))
    (tmp_path / "b_bom.txt").write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    (tmp_path / "c_gb.txt").write_bytes(TEXT.encode("gb18030"))
    (tmp_path / "d_utf16.txt").write_bytes(TEXT.encode("utf-16"))  # with BOM
    (tmp_path / "e_utf16le.txt").write_bytes(TEXT.encode("utf-16-le"))  # no BOM
    (tmp_path / "sub" / "f_utf16be.md").write_bytes(TEXT.encode("utf-16-be"))
    (tmp_path / "g_image.txt").write_bytes(_png_bytes())
    rng = random.Random(7)
    (tmp_path / "h_random.txt").write_bytes(bytes(rng.randrange(256) for _ in range(4000)) + b"\x00\x00\x07")
    (tmp_path / "i_undecodable.txt").write_bytes(b"\x81\x30\xff\xfe\x80\xc3\x28" * 50)
    (tmp_path / "j_empty.txt").write_bytes(b"\n \n")
    (tmp_path / "notes.numbers").write_text("a,b\n", encoding="utf-8")
    (tmp_path / ".hidden" / "k.txt").write_text("隐藏文件。", encoding="utf-8")
    return tmp_path


def test_encodings_binary_and_undecodable_files(mixed_corpus):
    docs, warnings = load_corpus(mixed_corpus)
    by_id = {d.doc_id: d for d in docs}
    # a document in a subfolder is named by its path in the corpus, without the extension
    assert list(by_id) == ["a_utf8", "b_bom", "c_gb", "d_utf16", "e_utf16le", "sub/f_utf16be"]
    for doc in docs:
        assert doc.title == "关于优化营商环境的通知", doc.doc_id
        assert doc.text == "各有关单位：\n现将有关事项通知如下，请认真贯彻落实。", doc.doc_id
        assert "\ufeff" not in doc.text
    assert len(warnings) == 5
    # a file of a format that is not read is named too, with the formats that are
    assert any("notes.numbers" in w and "formats read: .txt .md .bmp .csv .doc" in w for w in warnings), warnings
    for name in ("g_image.txt", "h_random.txt", "i_undecodable.txt", "j_empty.txt"):
        assert sum(name in w for w in warnings) == 1, (name, warnings)
    assert any("binary" in w for w in warnings if "g_image" in w)
    assert any("undecodable" in w for w in warnings if "i_undecodable" in w)


def test_decode_bytes_names_the_encoding():
    assert decode_bytes(TEXT.encode("gb18030"))[1] == "gb18030"
    assert decode_bytes(TEXT.encode("utf-8"))[1] == "utf-8"
    assert decode_bytes(TEXT.encode("utf-16-le")) == (TEXT, "utf-16")
    with pytest.raises(DecodeError):
        decode_bytes(os.urandom(64) + b"\x00\x01\x00\x00\x02")


def test_missing_corpus_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "nope")


def test_single_file(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("标题\n\n正文第一句。\n", encoding="utf-8")
    docs, warnings = load_corpus(path)
    assert warnings == [] and len(docs) == 1
    assert (docs[0].doc_id, docs[0].title, docs[0].text) == ("one", "标题", "正文第一句。")


# ---- JSONL ------------------------------------------------------------------------------------


def test_jsonl(tmp_path):
    path = tmp_path / "bulk.jsonl"
    lines = [
        json.dumps({"doc_id": "d1", "title": "第一篇", "text": "第一段。\r\n\r\n  第二段。  \n"}, ensure_ascii=False),
        "{not json",
        json.dumps({"doc_id": "d2", "title": "第二篇", "text": "正文。", "source": "某某日报", "date": "2024年3月5日", "url": "https://example.org/a"}, ensure_ascii=False),
        json.dumps({"title": "没有编号", "text": "正文。"}, ensure_ascii=False),
        json.dumps({"doc_id": "d3", "title": "没有正文"}, ensure_ascii=False),
        "[1, 2]",
        "",
        json.dumps({"doc_id": 4, "text": "数字编号。"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, warnings = load_corpus(path)
    assert [d.doc_id for d in docs] == ["d1", "d2", "4"]
    d1, d2, d4 = docs
    assert (d1.title, d1.text, d1.source, d1.date) == ("第一篇", "第一段。\n第二段。", "", "")
    assert (d2.source, d2.date, d2.url) == ("某某日报", "2024-03-05", "https://example.org/a")
    assert d4.title == ""
    assert len(warnings) == 4
    for lineno in (2, 4, 5, 6):
        assert any(f"bulk.jsonl:{lineno}:" in w for w in warnings), (lineno, warnings)


def _beir_folder(root: Path, n: int = 40) -> Path:
    """A benchmark folder in the BEIR layout the benches use (corpus.jsonl, queries.jsonl, qrels.tsv), shaped
    like CMRC 2018: one encyclopedia paragraph per record, some with Windows line ends, blank lines or no title."""
    rng = random.Random(2018)
    words = ["铁路", "全长", "公里", "管理", "运营", "戏曲", "节奏", "打击乐", "游戏", "系列", "开发", "站"]
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for i in range(n):
        text = "，".join("".join(rng.choices(words, k=4)) for _ in range(rng.randint(3, 12))) + "。"
        if i % 7 == 3:
            text = text.replace("，", "\r\n", 1)  # a Windows line end inside the paragraph
        if i % 11 == 5:
            text = "  " + text.replace("，", "\n\n", 1) + "\n"  # a blank line, edge whitespace
        corpus.append({"doc_id": f"DEV_{i}", "title": "" if i == 17 else f"词条{i}", "text": text})
        queries.append({"qid": f"DEV_{i}_QUERY_0", "text": f"词条{i}讲了什么？", "answers": [text[:4]]})
        qrels.append(f"DEV_{i}_QUERY_0\tDEV_{i}\t1")
    folder = root / "cmrc_like"
    folder.mkdir()
    for name, rows in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
        (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (folder / "qrels.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return folder


def test_benchmark_corpus_smoke(tmp_path):
    docs, warnings = load_corpus(_beir_folder(tmp_path) / "corpus.jsonl")
    assert warnings == []
    assert len(docs) == 40
    assert len({d.doc_id for d in docs}) == len(docs)
    assert sum(bool(d.title) for d in docs) > 0.9 * len(docs)
    for d in docs:
        assert d.text
        assert "\n\n" not in d.text and "\r" not in d.text
