"""Archives read as folders: members of every format under the archive's own doc id, GBK names as Windows writes
them, nested archives; hostile archives refused with a one-line reason while the rest of the folder is indexed;
nothing written outside a private temporary folder, which is gone afterwards; a sync follows an archive's changes."""
from __future__ import annotations

import io
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from ofd_writer import ofd_bytes
from render_formats import docx_bytes, seed_documents

from index import build_index, collection
from index.ingest import load_corpus

GOV = "004_6a50f008523c6f36"


@pytest.fixture(scope="module")
def seeds():
    return {d.doc_id: d for d in seed_documents()}


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


def _gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as Windows' own "send to compressed folder" writes one: names in GBK, not flagged as UTF-8."""
    placeholders = {name: "x" * (len(name.encode("gbk")) - 4) + name[-4:] for name in members}
    data = _zip([(placeholders[n], body) for n, body in members.items()])
    for name, placeholder in placeholders.items():
        data = data.replace(placeholder.encode("ascii"), name.encode("gbk"))
    return data


def _mark_encrypted(data: bytes, name: str) -> bytes:
    """Set the "encrypted" flag of member `name` in both its headers (Python's zipfile writes no encrypted zips)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        offset = z.getinfo(name).header_offset
    out[offset + 6] |= 0x1  # the local header's general-purpose flags
    encoded = name.encode("utf-8")
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        if out[at + 46:at + 46 + len(encoded)] == encoded:
            out[at + 8] |= 0x1  # the central directory's copy of the flags
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def _private_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("zhqa-archive-*")}


def test_members_of_every_format_read_under_the_archive_s_id(seeds, tmp_path):
    folder = tmp_path / "corpus"
    (folder / "收文").mkdir(parents=True)
    inner = _zip([("附件/说明.txt", "关于材料报送的说明\n请于月底前报送。\n".encode("utf-8"))])
    (folder / "收文" / "批次3.zip").write_bytes(_gbk_zip({
        "通知.txt": seeds["000_63a4e04b80a11179"].text.encode("gb18030"),
        "方案.ofd": ofd_bytes(seeds[GOV]),
        "报告.docx": docx_bytes(seeds["001_82eddd6c6af7ca57"]),
        "附件包.zip": inner,
        "照片说明.xyz": b"not read",
    }))
    before = _private_folders()
    docs, warnings = load_corpus(folder)
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"收文/批次3.zip/通知", "收文/批次3.zip/方案", "收文/批次3.zip/报告",
                          "收文/批次3.zip/附件包.zip/附件/说明"}
    plan = by_id["收文/批次3.zip/方案"]
    assert plan.format == "ofd" and plan.doc_number == "城政发〔2023〕7号" and len(plan.pages) > 5
    assert plan.path.endswith("收文/批次3.zip/方案.ofd")
    assert by_id["收文/批次3.zip/报告"].format == "docx"
    assert warnings == [f"{folder / '收文' / '批次3.zip'}/照片说明.xyz: not a format that is read; left in the archive"]
    assert _private_folders() == before  # every member's copy is gone


def _tar_gz(entries: list[tuple[str, bytes | None, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if data is not None:
                info.size = len(data)
            else:
                info.linkname = "/etc/passwd"
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def test_hostile_archives_are_refused_and_the_rest_is_indexed(seeds, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = "关于开展营商环境评价的通知\n请各单位按时报送材料。\n".encode("utf-8")
    (folder / "好的.zip").write_bytes(_zip([("通知.txt", text)]))
    (folder / "好的.tar.gz").write_bytes(_tar_gz([("目录/通知.txt", text, tarfile.REGTYPE)]))
    (folder / "越界.zip").write_bytes(_zip([("通知.txt", text), ("../../outside.txt", text)]))
    (folder / "绝对路径.zip").write_bytes(_zip([(zipfile.ZipInfo("/etc/cron.d/x.txt"), text)]))
    link = zipfile.ZipInfo("link.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    (folder / "链接.zip").write_bytes(_zip([(link, b"/etc/passwd")]))
    (folder / "链接.tar.gz").write_bytes(_tar_gz([("a.txt", None, tarfile.SYMTYPE)]))
    (folder / "越界.tar.gz").write_bytes(_tar_gz([("../x.txt", text, tarfile.REGTYPE)]))
    (folder / "炸弹.zip").write_bytes(_zip([("大.txt", b"0" * (300 * 2**20))]))
    (folder / "一万个.zip").write_bytes(_zip([(f"{i}.txt", b"a") for i in range(10_000)]))
    (folder / "有加密.zip").write_bytes(_mark_encrypted(_zip([("加密.txt", text), ("公开.txt", text)]), "加密.txt"))
    (folder / "损坏.zip").write_bytes(b"PK\x03\x04" + bytes(60))
    deep = _zip([("a.zip", _zip([("b.zip", _zip([("c.txt", text)]))]))])
    (folder / "三层.zip").write_bytes(deep)
    before = _private_folders()
    docs, warnings = load_corpus(folder)
    assert sorted(d.doc_id for d in docs) == ["好的.tar.gz/目录/通知", "好的.zip/通知", "有加密.zip/公开"]
    said = {}
    for w in warnings:
        assert len(w.splitlines()) == 1, w
        said.setdefault(w.split(": ")[0].removeprefix("skipped ").replace(str(folder) + "/", ""), w)
    assert "would be written outside" in said["越界.zip"] and "would be written outside" in said["越界.tar.gz"]
    assert "would be written outside" in said["绝对路径.zip"]
    assert "is a link" in said["链接.zip"] and "link" in said["链接.tar.gz"]
    assert "zip bomb" in said["炸弹.zip"]
    assert "10,000 members" in said["一万个.zip"]
    assert "encrypted" in said["有加密.zip/加密.txt"]
    assert "not a readable zip archive" in said["损坏.zip"]
    assert "nested 3 deep" in said["三层.zip/a.zip/b.zip"]
    assert not (tmp_path / "outside.txt").exists() and not (folder.parent.parent / "outside.txt").exists()
    assert _private_folders() == before


def test_a_sync_follows_an_archive_s_changes(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "说明.txt").write_text("关于材料报送的说明\n请于月底前报送材料。\n", encoding="utf-8")
    first = "关于开展营商环境评价的通知\n各单位要在三月底前完成自查。\n"
    (folder / "批次.zip").write_bytes(_zip([("通知.txt", first.encode("utf-8")),
                                          ("旧文件.txt", "关于旧事项的通知\n此事项已经结束办理。\n".encode("utf-8"))]))
    build_index(folder, tmp_path / "index", progress=False)
    second = "关于开展营商环境评价的通知\n各单位要在四月底前完成自查并报送报告。\n"
    (folder / "批次.zip").write_bytes(_zip([("通知.txt", second.encode("utf-8"))]))
    index, report, changes = collection.sync(tmp_path / "index", progress=False)
    assert set(index.documents) == {"说明", "批次.zip/通知"}
    assert "四月底前" in index.documents["批次.zip/通知"].text
    (folder / "批次.zip").unlink()
    index, report, changes = collection.sync(tmp_path / "index", progress=False)
    assert set(index.documents) == {"说明"}
