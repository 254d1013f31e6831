"""Who may change the collection: salted password hashes, roles checked in every handler, rate-limited logins,
and a reader who cannot upload or delete through the page's handlers or the HTTP API of a real server."""
from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import shutil
import stat
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import CORPUS, free_port

from index import build_index, load_index
from index.store import EMBEDDINGS
from qa import LiveSearcher, Searcher
from ui import access as access_mod
from ui.access import Access, AccessError, add_user, load_users
from ui.library import NO_RIGHTS, delete_documents, reindex_documents, upload_files

ADMIN, READER = ("alice", "correct horse 1"), ("bob", "battery staple 2")


@pytest.fixture
def users(tmp_path) -> Path:
    path = tmp_path / "users.json"
    add_user(path, *ADMIN, admin=True)
    add_user(path, *READER)
    return path


def test_users_file_holds_salted_hashes_only(users):
    raw = users.read_text(encoding="utf-8")
    assert ADMIN[1] not in raw and READER[1] not in raw
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    data = load_users(users)
    assert data["alice"]["role"] == "admin" and data["bob"]["role"] == "reader"
    assert data["alice"]["salt"] != data["bob"]["salt"]
    with pytest.raises(AccessError, match="at least 8"):
        add_user(users, "carol", "short")
    with pytest.raises(AccessError, match="user name"):
        add_user(users, "<script>", "long enough pw")
    (users.parent / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(AccessError, match="not a zhqa users file"):
        load_users(users.parent / "bad.json")


def test_roles_and_rate_limited_logins(users, monkeypatch):
    monkeypatch.setattr(access_mod, "FAILURE_DELAY", 0.0)
    access = Access.from_file(users)
    assert access.authenticate(*ADMIN) and access.authenticate(*READER)
    assert not access.authenticate("alice", "wrong") and not access.authenticate("nobody", "x")
    assert access.may_change("alice") and not access.may_change("bob") and not access.may_change(None)
    assert access.may_evaluate("alice") and not access.may_evaluate("bob")
    for _ in range(access_mod.MAX_FAILURES):
        access.authenticate("bob", "guess")
    assert not access.authenticate(*READER)  # locked for the window, even with the right password
    assert access.authenticate(*ADMIN)  # others are not
    # no users file: nobody changes anything unless the server allows it
    assert not Access().may_change(None) and Access(allow_changes=True).may_change(None)


@pytest.fixture
def library(tmp_path, seed_index_dir):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(Path(seed_index_dir) / EMBEDDINGS, index_dir / EMBEDDINGS)
    index, _ = build_index(corpus, index_dir, progress=False)
    return corpus, index_dir, LiveSearcher(Searcher(index), index_dir)


def test_a_reader_cannot_change_the_collection_through_the_handlers(users, library, tmp_path):
    corpus, index_dir, live = library
    access = Access.from_file(users)
    new = tmp_path / "new.txt"
    new.write_text("新文件\n运城市推行企业开办零成本服务。", encoding="utf-8")
    before = [c.text for c in load_index(index_dir).chunks]
    for handler, arg in ((upload_files, [str(new)]), (delete_documents, ["000_63a4e04b80a11179"]),
                         (reindex_documents, ["000_63a4e04b80a11179"])):
        message, changed = handler(live, access, "bob", arg)
        assert NO_RIGHTS in message and not changed
    assert [c.text for c in load_index(index_dir).chunks] == before
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in CORPUS.iterdir())
    # the administrator can, and the server's searcher moves to the new version at once
    message, changed = upload_files(live, access, "alice", [str(new)])
    assert changed and "new.txt：已加入" in message
    assert "new" in live.current.index.documents


def test_a_reader_cannot_change_the_collection_over_http(users, library, tmp_path):
    from gradio_client import Client

    from ui.app import serve

    corpus, index_dir, live = library
    port = free_port()
    from ui.audit import AuditLog, read_entries

    log = tmp_path / "audit.jsonl"
    demo = serve(live, port=port, block=False, quiet=True, access=Access(users=load_users(users), audit=AuditLog(log)))
    try:
        url = f"http://127.0.0.1:{port}/"
        # monitoring needs no login: /healthz answers, the page's API does not
        with urllib.request.urlopen(url + "healthz", timeout=30) as r:
            assert json.loads(r.read().decode("utf-8"))["status"] == "ok"
        # the plain HTTP API wants the same login: none or a wrong one is 401, HTTP Basic or the page's cookie answers
        body = json.dumps({"question": "哪些城市推行拿地即开工?"}).encode("utf-8")
        for auth in (None, "bob:wrong password"):
            headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(url + "api/ask", body, headers, method="POST"), timeout=30)
            assert refused.value.code == 401 and "需要登录" in json.loads(refused.value.read().decode("utf-8"))["error"]
        basic = {"Authorization": "Basic " + base64.b64encode(":".join(READER).encode()).decode()}
        with urllib.request.urlopen(urllib.request.Request(url + "api/ask", body, basic, method="POST"), timeout=60) as r:
            assert json.loads(r.read().decode("utf-8"))["passages"]
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = urllib.parse.urlencode({"username": READER[0], "password": READER[1]}).encode()
        browser.open(url + "login", form, timeout=30).close()
        with browser.open(urllib.request.Request(url + "api/ask", body, method="POST"), timeout=60) as r:
            assert json.loads(r.read().decode("utf-8"))["passages"]
        with pytest.raises(Exception):
            Client(url, auth=("bob", "wrong password"), verbose=False)
        client = Client(url, auth=READER, verbose=False)
        api = client.view_api(print_info=False, return_format="dict")
        assert set(api["named_endpoints"]) == {"/ask", "/document", "/index_info"}
        assert client.predict("哪些城市推行拿地即开工?", api_name="/ask")["passages"]
        # every event of the page, called directly as the reader: nothing changes
        config = json.loads(json.dumps(client.config))
        before = [c.text for c in load_index(index_dir).chunks]
        for fn_index, dep in enumerate(config["dependencies"]):
            if dep.get("api_name") in ("ask", "document", "index_info"):
                continue
            try:
                client.predict(fn_index=fn_index)
            except Exception:
                pass
        assert [c.text for c in load_index(index_dir).chunks] == before
        assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in CORPUS.iterdir())
        # the log: the refused API logins and each page login with the client's address; an API call that
        # carries the right password is not a login (it would log every question); the reader's change attempts
        # through the page's events are refusals
        entries = read_entries(log)
        logins = [(e["user"], e["client"], e["outcome"]) for e in entries if e["action"] == "login"]
        assert logins[:1] == [("bob", "127.0.0.1", "refused")]
        assert ("bob", "127.0.0.1", "ok") in logins and ("bob", "127.0.0.1", "refused") in logins[1:]
        assert all(e["outcome"] == "refused" for e in entries if e["action"] != "login")
        assert not [e for e in entries if e["action"] == "ask"]  # questions asked above: none kept unless said
    finally:
        demo.close()


def test_upload_limits_refuse_the_whole_upload_and_change_nothing(library, tmp_path):
    from ui.audit import AuditLog, read_entries
    from ui.library import UploadLimits

    corpus, index_dir, live = library
    access = Access(allow_changes=True, audit=AuditLog(tmp_path / "audit.jsonl"))
    files = []
    for i, size in enumerate((10, 10, 3000)):  # about 100 B, 100 B and 18 KB
        files.append(tmp_path / f"通知{i}.txt")
        files[-1].write_text(f"通知{i}\n运城市推行企业开办零成本服务。" + "服务" * size, encoding="utf-8")
    kb = 1 / 1024
    limits = UploadLimits(files=2, file_mb=10 * kb, total_mb=30 * kb)
    before = sorted(p.name for p in corpus.iterdir())
    cases = [(files, limits, "一次最多上传 2 个文件，这次选了 3 个"), (files[1:], limits, "单个文件不能超过"),
             ([files[2], files[2]], UploadLimits(files=2, file_mb=20 * kb, total_mb=30 * kb), "合计不能超过")]
    for chosen, lim, said in cases:
        message, changed = upload_files(live, access, None, [str(f) for f in chosen], "10.0.0.9", lim)
        assert said in message and not changed, message
    assert "通知2.txt" in upload_files(live, access, None, [str(f) for f in files[1:]], None, limits)[0]
    assert sorted(p.name for p in corpus.iterdir()) == before and len(live.current.store.documents) == 5
    assert [(e["action"], e["outcome"]) for e in read_entries(tmp_path / "audit.jsonl")] == [("upload", "refused")] * 4
    # within the limits, the same files are added
    message, changed = upload_files(live, access, None, [str(f) for f in files[:2]], None, limits)
    assert changed and "通知0.txt：已加入" in message


def test_questions_are_logged_only_when_asked_to(library, tmp_path):
    from gradio_client import Client

    from ui.app import serve
    from ui.audit import AuditLog, read_entries

    corpus, index_dir, live = library
    log = tmp_path / "audit.jsonl"
    port = free_port()
    demo = serve(live, port=port, block=False, quiet=True, access=Access(audit=AuditLog(log), log_questions=True))
    try:
        url = f"http://127.0.0.1:{port}/"
        for question in ("哪些城市推行拿地即开工?", ""):  # the empty one is refused, and not a question asked
            body = json.dumps({"question": question}).encode("utf-8")
            try:
                urllib.request.urlopen(urllib.request.Request(url + "api/ask", body, method="POST"), timeout=60).close()
            except urllib.error.HTTPError as refused:
                assert refused.code == 400 and not question
        client = Client(url, verbose=False)
        assert client.predict("身后一件事整合了多少事项", api_name="/ask")["passages"]
        client.predict("营商环境考核取得了什么成绩?", 5, [], "", "", api_name="/search_html")
    finally:
        demo.close()
    asked = [(e["user"], e["client"], e["action"], e["outcome"], e["detail"]) for e in read_entries(log)]
    assert asked == [(None, "127.0.0.1", "ask", "ok", q) for q in
                     ("哪些城市推行拿地即开工?", "身后一件事整合了多少事项", "营商环境考核取得了什么成绩?")]
    first = read_entries(log)[0]["documents"]
    assert "000_63a4e04b80a11179" in first and len(first) == len(set(first))


def test_every_login_and_change_is_in_the_audit_log_with_its_real_outcome(users, library, tmp_path):
    from ui.audit import AuditLog, read_entries

    corpus, index_dir, live = library
    log = tmp_path / "audit" / "audit.jsonl"
    access = Access(users=load_users(users), audit=AuditLog(log))
    assert access.authenticate(*ADMIN) and not access.authenticate("bob", "wrong password")
    new = tmp_path / "new.txt"
    new.write_text("新文件\n运城市推行企业开办零成本服务。", encoding="utf-8")
    # a reader's attempts are refusals, never successes; the admin's changes are ok with their documents
    for handler, arg in ((upload_files, [str(new)]), (delete_documents, ["000_63a4e04b80a11179"])):
        handler(live, access, "bob", arg, "10.0.0.7")
    upload_files(live, access, "alice", [str(new)], "10.0.0.8")
    message, changed = delete_documents(live, access, "alice", ["new", "no-such-doc"], "10.0.0.8")
    assert not changed  # one unknown document: nothing is deleted, and the log says it failed
    delete_documents(live, access, "alice", ["new"], "10.0.0.8")
    reindex_documents(live, access, "alice", ["000_63a4e04b80a11179"], "10.0.0.8")
    got = [(e["user"], e["client"], e["action"], e["outcome"], e["documents"]) for e in read_entries(log)]
    assert got == [
        ("alice", None, "login", "ok", []), ("bob", None, "login", "refused", []),
        ("bob", "10.0.0.7", "upload", "refused", ["new.txt"]),
        ("bob", "10.0.0.7", "delete", "refused", ["000_63a4e04b80a11179"]),
        ("alice", "10.0.0.8", "upload", "ok", ["new"]),
        ("alice", "10.0.0.8", "delete", "failed", ["new", "no-such-doc"]),
        ("alice", "10.0.0.8", "delete", "ok", ["new"]),
        ("alice", "10.0.0.8", "reindex", "ok", ["000_63a4e04b80a11179"]),
    ]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert all(e["time"].endswith("+00:00") for e in read_entries(log))
    assert [e["action"] for e in read_entries(log, user="bob")] == ["login", "upload", "delete"]
    assert read_entries(log, since="2999-01-01") == []
    # appended, never rewritten: a torn last line (a crash mid-write) is skipped and the next entry still lands
    with open(log, "ab") as f:
        f.write(b'{"time": "20')
    before = log.read_bytes()
    access.authenticate(*READER)
    assert log.read_bytes().startswith(before) and read_entries(log)[-1]["user"] == "bob"


def test_the_cli_records_its_changes_and_prints_the_log(library, tmp_path, capsys):
    import getpass

    from ui import cli

    corpus, index_dir, live = library
    assert cli.main(["build", "--corpus", str(corpus), "--index", str(index_dir)]) == 0
    (corpus / "new.txt").write_text("新文件\n运城市推行企业开办零成本服务。", encoding="utf-8")
    assert cli.main(["sync", "--index", str(index_dir)]) == 0
    assert cli.main(["remove", "--index", str(index_dir), "new"]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "--index", str(index_dir), "--json", "--since", "2020-01-01"]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["action"], e["outcome"], e["documents"], e["client"]) for e in entries] == [
        ("build", "ok", [], "cli"), ("sync", "ok", ["new"], "cli"), ("remove", "ok", ["new"], "cli")]
    assert entries[0]["detail"] == f"5 documents from {corpus.resolve()}"
    assert {e["user"] for e in entries} == {getpass.getuser()}
    assert cli.main(["audit", "--index", str(index_dir), "--user", "nobody"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["audit", "--index", str(index_dir), "--since", "soon"]) == 2


def test_serving_the_network_without_a_login_is_refused_unless_said(tmp_path, capsys):
    from ui import cli

    assert cli.main(["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "none"), "--no-sync"]) == 2
    assert "--public-read-only" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_api_processes_beyond_the_cores_or_on_milvus_are_refused(tmp_path, capsys):
    from ui import cli

    too_many = str((os.cpu_count() or 1) + 1)
    assert cli.main(["serve", "--api-processes", too_many, "--index", str(tmp_path / "none"), "--no-sync"]) == 2
    assert "at most one per core" in capsys.readouterr().err
    assert cli.main(["serve", "--api-processes", "1", "--store", "milvus", "--uri", str(tmp_path / "m.db"),
                     "--no-sync"]) == 2
    assert "local index" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--api-processes", "-1", "--index", str(tmp_path / "none")])
    assert exited.value.code == 2 and "--api-processes" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "m.db").exists()
