"""The corpus map as a chain of links: a change writes what it altered of the map, not the map; any reader folds
the chain to the map a sync needs (the real model, real files, a real folder)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from index import IndexBroken, build_index, collection, load_index
from index.collection import corpus_fingerprint, corpus_stat
from index.store import EMBEDDINGS, corpus_map, disk, live_version

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "corpus").glob("*.txt"))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    build_index(ROOT / "corpus", root / "index", progress=False)
    return root / "index" / EMBEDDINGS


def _library(tmp_path: Path, template: Path, n_files: int = 40) -> tuple[Path, Path]:
    """The seeds and `n_files` small notices (so the map is larger than what one change alters)."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for path in SEEDS:
        shutil.copy(path, corpus / path.name)
    text = "".join(p.read_text(encoding="utf-8") for p in SEEDS).replace("\n", "")
    for i in range(n_files):  # other passages of the seeds each: no two are near-duplicates
        (corpus / f"notice{i:03d}.txt").write_text(f"第{i}号通知\n\n{text[i * 300 : i * 300 + 200]}\n", encoding="utf-8")
    shutil.copytree(template, index_dir / EMBEDDINGS)
    build_index(corpus, index_dir, progress=False)
    return corpus, index_dir


def _manifest(index_dir: Path) -> dict:
    return json.loads((live_version(index_dir) / "manifest.json").read_text(encoding="utf-8"))


def _forget(index_dir: Path) -> None:
    """As a fresh process: nothing of the chain in memory."""
    disk._maps_memo.pop(str(index_dir.resolve()), None)


def _assert_maps_are_the_folder(index_dir: Path, corpus: Path) -> None:
    _forget(index_dir)
    manifest = load_index(index_dir).manifest
    assert manifest["corpus_files"] == corpus_fingerprint(corpus)
    assert manifest["corpus_stat"] == corpus_stat(corpus)


def test_each_change_writes_a_link_of_what_it_altered(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template)
    first = _manifest(index_dir)["corpus_maps"]
    assert len(first) == 1
    whole = (index_dir / corpus_map.MAPS / first[0]["name"]).stat().st_size
    new = tmp_path / "new.txt"
    new.write_text("关于推行企业开办零成本服务的通知\n\n自即日起，本区推行企业开办零成本服务。\n", encoding="utf-8")
    collection.add(index_dir, [new], progress=False)
    (corpus / "notice001.txt").write_text("第1号通知（修订）\n\n名单已更正。\n", encoding="utf-8")
    collection.sync(index_dir, progress=False)
    collection.remove(index_dir, ["notice002"], progress=False)
    chain = _manifest(index_dir)["corpus_maps"]
    assert [e["name"] for e in chain[:1]] == [first[0]["name"]] and len(chain) == 4
    for entry in chain[1:]:  # one altered path each: a small fraction of the whole map
        link = json.loads((index_dir / corpus_map.MAPS / entry["name"]).read_text(encoding="utf-8"))
        assert len(link["files"]) == 1 and len(link["stat"]) == 1
        assert (index_dir / corpus_map.MAPS / entry["name"]).stat().st_size * 10 < whole
    assert json.loads((index_dir / corpus_map.MAPS / chain[3]["name"]).read_text(encoding="utf-8"))["files"] == {"notice002.txt": None}
    _assert_maps_are_the_folder(index_dir, corpus)
    # nothing changed: no link, the same chain
    collection.sync(index_dir, progress=False)
    assert _manifest(index_dir)["corpus_maps"] == chain


def test_the_chain_starts_again_from_a_whole_map_and_old_links_go(tmp_path, template, monkeypatch):
    corpus, index_dir = _library(tmp_path, template)
    monkeypatch.setattr(corpus_map, "LONGEST_CHAIN", 3)
    monkeypatch.setattr(disk, "KEEP_PREVIOUS_SECONDS", 0)  # replaced versions go at once
    for i in range(3):
        (corpus / f"extra{i}.txt").write_text(f"补充通知{i}\n\n第{i}项补充内容，请各单位知悉并落实到位。\n", encoding="utf-8")
        collection.sync(index_dir, progress=False)
    chain = _manifest(index_dir)["corpus_maps"]
    assert len(chain) == 1  # the fourth link would have made four: a whole map instead
    assert {p.name for p in (index_dir / corpus_map.MAPS).iterdir()} == {chain[0]["name"]}
    _assert_maps_are_the_folder(index_dir, corpus)


def test_a_damaged_or_missing_link_is_named(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, n_files=2)
    (corpus / "extra.txt").write_text("补充通知\n\n请各单位知悉。\n", encoding="utf-8")
    collection.sync(index_dir, progress=False)
    link = index_dir / corpus_map.MAPS / _manifest(index_dir)["corpus_maps"][-1]["name"]
    link.write_text(link.read_text(encoding="utf-8").replace("extra", "extrb"), encoding="utf-8")
    _forget(index_dir)
    with pytest.raises(IndexBroken, match=f"{corpus_map.MAPS}/{link.name} is damaged.*zhqa build"):
        load_index(index_dir)
    link.unlink()
    with pytest.raises(IndexBroken, match=f"{corpus_map.MAPS}/{link.name} is missing"):
        load_index(index_dir)


def test_a_format_7_index_holding_its_map_is_read_and_written_as_a_chain(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, n_files=2)
    version = live_version(index_dir)
    manifest = _manifest(index_dir)
    maps = load_index(index_dir).manifest
    manifest.update(format=7, corpus_files=maps["corpus_files"], corpus_stat=maps["corpus_stat"])
    del manifest["corpus_maps"]
    data = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    (version / "manifest.json").write_bytes(data)
    (version / "checksums.json").write_text(json.dumps({"manifest.json": hashlib.sha256(data).hexdigest()}), encoding="utf-8")
    shutil.rmtree(index_dir / corpus_map.MAPS)
    _assert_maps_are_the_folder(index_dir, corpus)
    (corpus / "extra.txt").write_text("补充通知\n\n请各单位知悉。\n", encoding="utf-8")
    index, report, changes = collection.sync(index_dir, progress=False)
    assert changes.added == ["extra.txt"] and not changes.changed and not changes.deleted  # nothing else read again
    written = _manifest(index_dir)
    assert written["format"] == disk.FORMAT_VERSION and len(written["corpus_maps"]) == 1
    _assert_maps_are_the_folder(index_dir, corpus)


maps = st.dictionaries(st.sampled_from([f"f{i}.txt" for i in range(12)]), st.text(max_size=3), max_size=12)


@given(maps, maps, maps)
def test_links_fold_back_to_the_maps_they_were_made_from(a, b, c):
    chain, stored = [], ({}, {})
    links = []
    for wanted in (a, b, c):
        data, whole = corpus_map.next_link(chain, stored, (wanted, wanted))
        if data is not None:
            links.append(json.loads(data))
            if whole:
                links = links[-1:]
            chain = [None] * len(links)
        folded = ({}, {})
        for link in links:
            folded = corpus_map.fold(folded, link)
        assert folded == (wanted, wanted)
        stored = folded


@given(maps, st.dictionaries(st.sampled_from([f"f{i}.txt" for i in range(16)]), st.none() | st.text(max_size=3), max_size=8))
def test_a_map_altered_at_named_paths_gives_the_alterations_a_full_comparison_finds(base, altered):
    after = corpus_map.Altered(base, altered)
    assert corpus_map.alterations(base, after) == corpus_map.alterations(base, dict(after))
    corpus_map.settle((after,))
    assert after.base is None and corpus_map.alterations(base, after) == corpus_map.alterations(base, dict(after))
    again = corpus_map.Altered(base, altered)
    later = corpus_map.Altered(again, {"f0.txt": None})
    assert later.base is again and again.base is None  # a map holds at most the one it was made from
    assert corpus_map.alterations(again, later) == corpus_map.alterations(again, dict(later))


def test_an_add_looks_only_at_the_files_it_places(tmp_path, template):
    corpus, index_dir = _library(tmp_path, template, n_files=3)
    # a file put in the folder by hand, and an indexed file edited by hand: an add does not walk the folder
    (corpus / "by_hand.txt").write_text("手工放入的通知\n\n请各单位于月底前报送统计表。\n", encoding="utf-8")
    (corpus / "notice001.txt").write_text("第1号通知（修订）\n\n名单已更正。\n", encoding="utf-8")
    new = tmp_path / "new.txt"
    new.write_text("关于推行企业开办零成本服务的通知\n\n自即日起，本区推行企业开办零成本服务。\n", encoding="utf-8")
    index, report, placed, refused = collection.add(index_dir, [new], progress=False)
    assert [p.target.name for p in placed] == ["new.txt"] and not refused
    assert "new" in index.documents and "by_hand" not in index.documents
    link = json.loads((index_dir / corpus_map.MAPS / _manifest(index_dir)["corpus_maps"][-1]["name"]).read_text(encoding="utf-8"))
    assert list(link["files"]) == ["new.txt"] and list(link["stat"]) == ["new.txt"]
    _forget(index_dir)
    maps = load_index(index_dir).manifest
    assert "by_hand.txt" not in maps["corpus_files"] and maps["corpus_stat"]["new.txt"] == corpus_stat(corpus)["new.txt"]
    # the next sync finds what the add left
    index, report, changes = collection.sync(index_dir, progress=False)
    assert changes.added == ["by_hand.txt"] and changes.changed == ["notice001.txt"] and not changes.deleted
    assert "by_hand" in index.documents
    _assert_maps_are_the_folder(index_dir, corpus)
    # adding a file already in the folder (and hidden ones) looks at it alone, and changes nothing when it is indexed
    before = _manifest(index_dir)["corpus_maps"]
    index, report, placed, refused = collection.add(index_dir, [corpus / "by_hand.txt"], progress=False)
    assert [p.copied for p in placed] == [False] and _manifest(index_dir)["corpus_maps"] == before
