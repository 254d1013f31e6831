"""Tests for eval/: question sets, span matching, ranx metric plumbing, benchmarks, reports, the CLI."""
from __future__ import annotations

import io
import json
import math
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval.bench import BenchError, bench_index_dir, load_bench, model_slug
from eval.metrics import evaluate_rankings, significance, to_run
from eval.questions import GoldJudge, QuestionSet, QuestionSetError, locate, nfkc_without_spaces, nfkc_without_spaces_with_map
from eval.runner import EvalResult, evaluate_questions

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED = ROOT / "eval" / "questions" / "seed.jsonl"
DOC_000 = "000_63a4e04b80a11179"
DOC_003 = "003_2a0d0da5d2c1eea9"
DOC_004 = "004_6a50f008523c6f36"


def _raw(doc_id: str) -> str:
    return (CORPUS / f"{doc_id}.txt").read_text(encoding="utf-8")


def _doc(doc_id: str, text: str):
    return SimpleNamespace(doc_id=doc_id, text=text, title=doc_id, source="", date="")


# --- normalisation and span matching ----------------------------------------------------------------
def test_normalize_nfkc_and_whitespace():
    assert nfkc_without_spaces("全生命周 期\n服务") == "全生命周期服务"
    assert nfkc_without_spaces("１２３４５热线，满意率") == "12345热线,满意率"
    norm, where = nfkc_without_spaces_with_map("a b\u3000c")
    assert norm == "abc" and where == [0, 2, 4]


def test_span_with_pdf_wrap_space_is_found_in_joined_text():
    raw = _raw(DOC_003)
    span = "围绕服务项目建设全生命周 期"  # as it is in the raw PDF extraction
    assert span in raw
    cleaned = raw.replace("全生命周 期", "全生命周期")
    [(s, e)] = locate(span, cleaned)
    assert cleaned[s:e] == "围绕服务项目建设全生命周期"


def _judge_case():
    """A real paragraph of 004 and a gold span inside it, located in the document text."""
    text = _raw(DOC_004)
    para = next(line for line in text.splitlines() if "平均压减建设工期 30日以上" in line)
    text = para  # the judge only needs a document text that holds the span
    span = "平均压减建设工期 30日以上"
    judge = GoldJudge({DOC_004: _doc(DOC_004, text)})
    question = QuestionSet.from_jsonl_text(json.dumps({"qid": "t1", "question": "?", "gold": [{"doc": DOC_004, "span": span}]})).questions[0]
    [(s, e, n)] = judge.locations(question.gold[0])
    assert text[s:e] == span and n == len(nfkc_without_spaces(span))
    return judge, question, text, s, e


def test_passage_containing_span_counts_and_other_doc_does_not():
    judge, q, text, s, e = _judge_case()
    assert judge.matches(q, DOC_004, 0, len(text), text) == [0]
    assert judge.matches(q, DOC_000, 0, len(text), text) == []  # right text, wrong document
    assert judge.matches(q, DOC_004, 0, s, text[:s]) == []  # ends before the span


def test_span_split_across_chunk_boundary():
    judge, q, text, s, e = _judge_case()
    # the span is normalised to 13 characters: "平均压减建设工期30日以上"
    cut = text.index("30日", s)  # left part "平均压减建设工期 " holds 8 of 13 normalised characters
    left, right = text[:cut], text[cut:]
    assert judge.matches(q, DOC_004, 0, cut, left) == [0]  # holds more than half
    assert judge.matches(q, DOC_004, cut, len(text), right) == []  # holds 5 of 13: less than half
    cut2 = text.index("工期", s)  # "平均压减建设" 6 of 13 vs "工期 30日以上" 7 of 13
    assert judge.matches(q, DOC_004, 0, cut2, text[:cut2]) == []
    assert judge.matches(q, DOC_004, cut2, len(text), text[cut2:]) == [0]


def test_whitespace_and_fullwidth_differences_between_gold_and_passage():
    judge, q, text, s, e = _judge_case()
    passage = text.replace(" ", "")  # a cleaner that dropped the wrap space
    assert judge.matches(q, DOC_004, 0, len(text), passage) == [0]


# --- question sets ---------------------------------------------------------------------------------------
def test_jsonl_loading_and_errors(tmp_path):
    good = tmp_path / "q.jsonl"
    good.write_text(
        json.dumps({"qid": "a", "question": "问?", "gold": [{"doc": "d1", "span": "一段原文"}, {"doc": "d2", "span": "另一段"}], "kind": "list"},
                   ensure_ascii=False) + "\n\n" + json.dumps({"question": "问二", "gold": [{"doc": "d1", "span": "x y"}]}) + "\n",
        encoding="utf-8",
    )
    qs = QuestionSet.load(good)
    assert [q.qid for q in qs] == ["a", "q3"] and len(qs.questions[0].gold) == 2 and qs.questions[1].kind == "fact"
    assert qs.questions[0].gold_ids() == ["a-g0", "a-g1"]

    cases = {
        '{"question": "q", "gold": []}': "gold",
        '{"question": "", "gold": [{"doc": "d", "span": "s"}]}': "question",
        '{"question": "q", "gold": [{"doc": "d"}]}': "span",
        '{"question": "q", "gold": [{"doc": "d", "span": "s"}], "kind": "opinion"}': "kind",
        '{"question": "q", "gold": [{"doc": "d", "span": "s"}]': "JSON",
    }
    for line, word in cases.items():
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"qid": "ok", "question": "q", "gold": [{"doc": "d", "span": "s"}]}\n' + line + "\n", encoding="utf-8")
        with pytest.raises(QuestionSetError) as err:
            QuestionSet.load(bad)
        assert f"{bad}:2:" in str(err.value) and word in str(err.value)

    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"qid": "a", "question": "q", "gold": [{"doc": "d", "span": "s"}]}\n' * 2, encoding="utf-8")
    with pytest.raises(QuestionSetError, match="already used on line 1"):
        QuestionSet.load(dup)
    with pytest.raises(QuestionSetError, match="no such file"):
        QuestionSet.load(tmp_path / "missing.jsonl")
    with pytest.raises(QuestionSetError, match="unknown question set format"):
        (tmp_path / "q.txt").write_text("x", encoding="utf-8")
        QuestionSet.load(tmp_path / "q.txt")


def test_csv_loading_groups_rows_into_gold_entries(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text(
        "question,doc,span,kind\n"
        "哪些城市推行拿地即开工?,000,拿地即开工、环评打捆审批,list\n"
        "哪些城市推行拿地即开工?,001,示范区实行“拿地即开工”,list\n"
        "济源有多少政务服务事项纳入平台?,001,2811项政务服务事项全部纳入政务服务平台,\n",
        encoding="utf-8",
    )
    qs = QuestionSet.load(f)
    assert len(qs) == 2
    assert [g.doc for g in qs.questions[0].gold] == ["000", "001"] and qs.questions[0].kind == "list"
    # doc names are resolved against the index's ids: a unique prefix or a file name works
    ids = [DOC_000, "001_82eddd6c6af7ca57"]
    assert qs.resolve_docs(ids) == []
    assert qs.questions[0].gold[0].doc == DOC_000
    bad = QuestionSet.from_csv_text("question,doc,span\nq,nope,span text\n", path="x.csv")
    [problem] = bad.resolve_docs(ids)
    assert "x.csv:2" in problem and "'nope' is not in the index" in problem
    with pytest.raises(QuestionSetError, match=r"q2\.csv:1: .*missing span"):
        (tmp_path / "q2.csv").write_text("question,doc\nq,d\n", encoding="utf-8")
        QuestionSet.load(tmp_path / "q2.csv")
    with pytest.raises(QuestionSetError, match=r"q3\.csv:3: empty question"):
        (tmp_path / "q3.csv").write_text("question,doc,span\nq,d,s\n,d,s\n", encoding="utf-8")
        QuestionSet.load(tmp_path / "q3.csv")


# --- the seed set ----------------------------------------------------------------------------------------
def test_seed_set_shape():
    qs = QuestionSet.load(SEED)
    assert len(qs) >= 60
    kinds = {q.kind for q in qs}
    assert kinds == {"fact", "list", "paraphrase"}
    docs = {g.doc for q in qs for g in q.gold}
    assert docs == {p.stem for p in CORPUS.glob("*.txt")}
    assert all(len(q.gold) >= 2 for q in qs if q.kind == "list")
    assert sum(q.kind == "paraphrase" for q in qs) >= 10
    lands = next(q for q in qs if "拿地即开工" in q.question and q.kind == "list")
    assert {g.doc[:3] for g in lands.gold} == {"000", "001", "003"}
    for place in ("保定", "湘潭", "崂山", "萨尔图", "良庆", "新都", "宣汉", "光明"):
        assert any(place in q.question and any(g.doc == DOC_003 for g in q.gold) for q in qs), place


def test_every_seed_span_exists_in_its_raw_document():
    qs = QuestionSet.load(SEED)
    for q in qs:
        for g in q.gold:
            raw = _raw(g.doc)
            n = len(nfkc_without_spaces(g.span))
            assert 10 <= n <= 40, (q.qid, g.span)
            assert "\n" not in g.span, (q.qid, g.span)
            assert g.span in raw, (q.qid, g.span)  # exact raw text
            assert nfkc_without_spaces(g.span) in nfkc_without_spaces(unicodedata.normalize("NFKC", raw)), (q.qid, g.span)


def test_every_seed_span_survives_cleaning():
    loading = pytest.importorskip("index.ingest.loading")
    documents = {d.doc_id: d for d in loading.load_corpus(CORPUS)[0]}
    qs = QuestionSet.load(SEED)
    assert qs.resolve_docs(documents) == []
    judge = GoldJudge(documents)
    assert judge.unresolved(qs.questions) == []
    for q in qs:
        for g in q.gold:
            assert len(judge.locations(g)) == 1, (q.qid, g.span)  # found once, so the location is unambiguous


# --- metric plumbing on a hand-checked run -------------------------------------------------------------
def _hand_run():
    qrels = {
        "q1": {"q1-g0": 1, "q1-g1": 1},  # g0 found at rank 2, g1 never
        "q2": {"q2-g0": 1},  # found at rank 1
        "q3": {"q3-g0": 1},  # found at rank 7
        "q4": {"q4-g0": 1, "q4-g1": 1},  # one passage at rank 3 satisfies both
    }
    rankings = {
        "q1": [[], ["q1-g0"], [], [], []],
        "q2": [["q2-g0"], [], []],
        "q3": [[], [], [], [], [], [], ["q3-g0"], [], [], []],
        "q4": [[], [], ["q4-g0", "q4-g1"], []],
    }
    return qrels, rankings


def test_metrics_match_hand_computation():
    qrels, rankings = _hand_run()
    means, per_q = evaluate_rankings(qrels, rankings)
    assert per_q["q1"]["mrr@10"] == pytest.approx(1 / 2)
    assert per_q["q3"]["mrr@10"] == pytest.approx(1 / 7)
    assert per_q["q4"]["mrr@10"] == pytest.approx(1 / 3)
    assert per_q["q1"]["recall@5"] == pytest.approx(0.5) and per_q["q4"]["recall@1"] == 0.0
    assert per_q["q4"]["recall@5"] == pytest.approx(1.0)  # both gold entries at rank 3
    assert means["recall@1"] == pytest.approx((0 + 1 + 0 + 0) / 4)
    assert means["recall@5"] == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert means["recall@10"] == pytest.approx((0.5 + 1 + 1 + 1) / 4)
    assert means["hit@1"] == pytest.approx(1 / 4)
    assert means["hit@5"] == pytest.approx(3 / 4)
    assert means["mrr@10"] == pytest.approx((1 / 2 + 1 + 1 / 7 + 1 / 3) / 4)
    idcg2 = 1 + 1 / math.log2(3)
    ndcg = [(1 / math.log2(3)) / idcg2, 1.0, 1 / math.log2(8), (1 / math.log2(4) + 1 / math.log2(5)) / idcg2]
    assert means["ndcg@10"] == pytest.approx(sum(ndcg) / 4)


def test_run_keeps_ranks_with_fillers():
    run = to_run({"q": [[], [], ["g"]]}, name="x").to_dict()["q"]
    assert sorted(run, key=run.get, reverse=True)[2] == "g" and len(run) == 3
    empty = to_run({"q": []}).to_dict()["q"]
    assert len(empty) == 1


def test_significance_between_retrievers():
    qrels = {f"q{i}": {f"q{i}-g0": 1} for i in range(12)}
    good = {q: [[f"{q}-g0"]] for q in qrels}
    bad = {q: [[], [], [], [f"{q}-g0"]] for q in qrels}
    sig = significance(qrels, {"good": good, "bad": bad}, ["mrr@10"])
    [pair] = sig["pairs"]
    assert pair["a"] == "good" and pair["better"] == "good" and pair["significant"]
    assert pair["wins"] == 12 and pair["a_score"] == pytest.approx(1.0) and pair["b_score"] == pytest.approx(0.25)
    assert significance(qrels, {"good": good}) is None


# --- the runner with a scripted searcher ---------------------------------------------------------------------
class ScriptedSearcher:
    """Returns fixed passages per (question, retriever): lists of (doc_id, start, end)."""

    def __init__(self, documents: dict, script: dict):
        self.store = SimpleNamespace(documents=documents, manifest={"model": "fake", "n_chunks": 0, "n_documents": len(documents)},
                                     location="", n_chunks=0, duplicates={})
        self.script = script

    def search(self, question, k=10, retriever="hybrid"):
        from qa import Passage

        out = []
        for rank, (doc_id, s, e) in enumerate(self.script[question][retriever][:k], start=1):
            text = self.store.documents[doc_id].text[s:e]
            out.append(Passage(rank=rank, score=1.0 / rank, doc_id=doc_id, title=doc_id, source="", date="",
                               paragraph=1, start=s, end=e, text=text, citation=f"《{doc_id}》"))
        return out


def _scripted():
    text_a = "第一段<script>alert(1)</script>说明。" + "拿地即开工改革举措全面推行。" + "其他内容" * 20
    text_b = "济源示范区实行拿地即开工审批模式。" + "无关内容" * 20
    docs = {"A": _doc("A", text_a), "B": _doc("B", text_b)}
    sa = text_a.index("拿地即开工改革举措")
    sb = text_b.index("实行拿地即开工审批模式")
    qs = QuestionSet.from_jsonl_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"qid": "l1", "question": "哪些地方推行拿地即开工?", "kind": "list",
         "gold": [{"doc": "A", "span": "拿地即开工改革举措全面推行"}, {"doc": "B", "span": "示范区实行拿地即开工审批模式"}]},
        {"qid": "f1", "question": "济源实行什么审批模式?", "gold": [{"doc": "B", "span": "示范区实行拿地即开工审批模式"}]},
    ]), name="scripted", path="scripted.jsonl")
    noise = ("A", 70, 90)  # "其他内容" only
    script = {
        "哪些地方推行拿地即开工?": {
            "bm25": [("A", 0, sa + 20), ("B", 0, sb + 20)],  # ranks 1 and 2
            "hybrid": [noise, ("A", 0, sa + 20), noise, noise, noise, ("B", 0, sb + 20)],  # ranks 2 and 6
        },
        "济源实行什么审批模式?": {
            "bm25": [noise, noise, ("B", 0, 40)],  # rank 3
            "hybrid": [("B", 0, 40)],  # rank 1
        },
    }
    return ScriptedSearcher(docs, script), qs


def test_evaluate_questions_end_to_end_with_scripted_searcher():
    pytest.importorskip("qa")
    searcher, qs = _scripted()
    calls = []
    result = evaluate_questions(searcher, qs, retrievers=("bm25", "hybrid"), k=10, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (4, 4)
    by = {q.qid: q for q in result.per_question}
    assert by["l1"].retrievers["bm25"].gold_ranks == [1, 2]
    assert by["l1"].retrievers["hybrid"].gold_ranks == [2, 6]
    assert by["f1"].retrievers["bm25"].gold_ranks == [3]
    m = result.metrics
    assert m["bm25"]["recall@1"] == pytest.approx((0.5 + 0) / 2)
    assert m["hybrid"]["recall@5"] == pytest.approx((0.5 + 1) / 2)
    assert m["bm25"]["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert m["hybrid"]["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    d = json.loads(result.to_json())
    assert d["n"] == 2 and set(d["retrievers"]) == {"bm25", "hybrid"}
    assert set(d["retrievers"]["hybrid"]) == {"recall@1", "recall@5", "recall@10", "hit@1", "hit@5", "mrr@10", "ndcg@10"}
    q = d["per_question"][0]
    assert {"qid", "question", "kind", "retrievers"} <= set(q)
    assert {"gold_ranks", "passages"} <= set(q["retrievers"]["hybrid"])
    assert {"rank", "doc_id", "paragraph", "text"} <= set(q["retrievers"]["hybrid"]["passages"][0])
    assert d["significance"]["pairs"]
    assert EvalResult.from_dict(d).metrics == result.metrics
    assert result.worst_first()[0].qid == "l1"  # hybrid misses nothing but ranks l1 lower


def test_report_is_written_and_escaped(tmp_path):
    pytest.importorskip("qa")
    from eval.report import write_report

    searcher, qs = _scripted()
    result = evaluate_questions(searcher, qs, retrievers=("bm25", "hybrid"), k=10, progress=None)
    result.name = "<img src=x onerror=alert(2)>问题集"  # an uploaded file's stem is the set's name
    paths = write_report(result, tmp_path / "rep")
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;问题集" in html
    assert "检索评测报告" in html and "显著性检验" in html and "data:image/png;base64," in html
    assert "<mark>拿地即开工改革举措全面推行</mark>" in html
    assert html.index('<span class="qid">l1<') < html.index('<span class="qid">f1<')  # worst first
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| hybrid |" in md and "metrics.png" in md


# --- benchmarks -------------------------------------------------------------------------------------------
def _write_bench(folder: Path) -> Path:
    folder.mkdir(parents=True)
    docs = [
        ("d-land", "晋城营商环境", "晋城推出双承诺免评审、拿地即开工、环评打捆审批等改革举措，审批时间平均缩短30%。"),
        ("d-after", "身后一件事", "晋城全面推行身后一件事联办服务模式，38个相关事项整合为一件事，一张申请表、一个窗口就能一次性办完。"),
        ("d-loan", "济源融资", "济源示范区每周三召开线上线下政银企融资需求对接会，破解融资难题，贷款余额726.51亿元。"),
        ("d-hotline", "保定热线", "保定12345热线接诉即办，接通率98.78%，按时响应率98.77%，群众满意率99.06%。"),
        ("d-index", "宣汉指数", "2023中国先进化工产业发展指数宣汉指数正式发布，宣汉拥有天然气和锂钾两大万亿级产业资源。"),
        ("d-train", "光明区", "深创赛第七届国际赛光明区意向项目线上资本对接答疑会在深圳光明区举办。"),
    ]
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, title, text in docs:
            f.write(json.dumps({"doc_id": doc_id, "title": title, "text": text}, ensure_ascii=False) + "\n")
    queries = [("b1", "哪里推行拿地即开工？"), ("b2", "亲人去世后的手续能一次办完吗？"), ("b3", "政银企融资对接会多久开一次？"),
               ("b4", "12345热线接通率是多少？"), ("b5", "宣汉有哪些产业资源？")]
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, text in queries:
            f.write(json.dumps({"qid": qid, "text": text}, ensure_ascii=False) + "\n")
    (folder / "qrels.tsv").write_text(
        "b1\td-land\t1\nb2\td-after\t1\nb3\td-loan\t1\nb4\td-hotline\t1\nb5\td-index\t1\nb5\td-unknown\t1\n", encoding="utf-8"
    )
    return folder


def test_load_bench_and_errors(tmp_path):
    bench = load_bench(_write_bench(tmp_path / "tiny"))
    assert bench.name == "tiny" and len(bench) == 5 and bench.qrels["b5"] == {"d-index": 1}
    assert any("not in corpus.jsonl" in s for s in bench.skipped)
    assert len(bench.corpus_sha256) == 64
    where = bench_index_dir(bench, "multilingual-e5-small", root=tmp_path / "cache")
    assert where.name == f"tiny-{bench.corpus_sha256[:12]}-multilingual-e5-small"
    assert model_slug("/models/My Model/") == "My-Model"
    with pytest.raises(BenchError, match="missing qrels.tsv"):
        (tmp_path / "half").mkdir()
        (tmp_path / "half" / "corpus.jsonl").write_text("{}", encoding="utf-8")
        (tmp_path / "half" / "queries.jsonl").write_text("", encoding="utf-8")
        load_bench(tmp_path / "half")
    bad = _write_bench(tmp_path / "bad")
    (bad / "queries.jsonl").write_text('{"qid": "b1", "text": "x"}\n{"qid": \n', encoding="utf-8")
    with pytest.raises(BenchError, match=r"queries\.jsonl:2: not valid JSON"):
        load_bench(bad)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run `zhqa eval ...` through the project CLI when it is wired, else through eval.cli."""
    out, err = io.StringIO(), io.StringIO()
    try:
        from ui.cli import main
    except ImportError:
        from eval.cli import main

        argv = argv[1:]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_bad_input_exits_2_without_traceback(tmp_path):
    code, out, err = _cli(["eval", "--bench", str(tmp_path / "nothing"), "--json", "--quiet"])
    assert code == 2 and "not a benchmark folder" in err and "Traceback" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    code, out, err = _cli(["eval", "--questions", str(bad), "--quiet"])
    assert code == 2 and f"{bad}:1" in err and "Traceback" not in err
    code, out, err = _cli(["eval", "--bench", str(_write_bench(tmp_path / "b")), "--retrievers", "bm25,magic", "--quiet"])
    assert code == 2 and "magic" in err


def test_cli_bench_end_to_end_json(tmp_path):
    bench = _write_bench(tmp_path / "tiny")
    cache = tmp_path / "cache"
    argv = ["eval", "--bench", str(bench), "--json", "--quiet", "--cache", str(cache), "--report", str(tmp_path / "rep")]
    code, out, err = _cli(argv)
    assert code == 0, err
    d = json.loads(out)
    assert d["n"] == 5 and set(d["retrievers"]) == {"bm25", "dense", "hybrid"}
    for scores in d["retrievers"].values():
        assert set(scores) == {"recall@1", "recall@5", "recall@10", "hit@1", "hit@5", "mrr@10", "ndcg@10"}
        assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert d["retrievers"]["bm25"]["hit@5"] == pytest.approx(1.0)  # every query shares words with its document
    assert len(d["per_question"]) == 5 and d["significance"]["test"] == "student"
    assert any("not in corpus.jsonl" in w for w in d["warnings"])
    [cached] = list(cache.iterdir())
    assert cached.name.startswith("tiny-")
    assert (tmp_path / "rep" / "report.html").is_file()
    # the second run uses the cached index
    code, out2, err = _cli(["eval", "--bench", str(bench), "--json", "--cache", str(cache), "--retrievers", "bm25"])
    assert code == 0 and "using cached benchmark index" in err
    assert json.loads(out2)["retrievers"]["bm25"] == d["retrievers"]["bm25"]


def test_an_evaluation_never_touches_the_live_searchers_embedder(searcher):
    """The web page's 评测 tab runs in one thread while live questions use the same searcher in others."""
    from eval.questions import QuestionSet

    live = searcher.embedder
    seen = []

    def progress(done, total, *rest):
        seen.append((searcher.embedder is live, "encode_query" in vars(live)))

    qset = QuestionSet.load(Path(__file__).resolve().parents[1] / "eval/questions/seed.jsonl")
    qset.questions = qset.questions[:3]
    result = evaluate_questions(searcher, qset, retrievers=("dense", "hybrid"), k=5, progress=progress)
    assert result.info["query_vectors_reused"] and seen
    assert all(same and not patched for same, patched in seen)


def test_the_shared_benchmarks_are_found_wherever_the_checkout_is(tmp_path, monkeypatch):
    from eval.bench import BenchError, find_shared_bench

    deep = tmp_path / "work" / "team" / "checkout"
    deep.mkdir(parents=True)
    stard = tmp_path / "work" / "shared" / "bench" / "stard_train"
    stard.mkdir(parents=True)
    (stard / "queries.jsonl").write_text("", encoding="utf-8")
    monkeypatch.delenv("ZHQA_BENCH", raising=False)
    monkeypatch.chdir(deep)
    assert find_shared_bench("stard_train", start=deep) == stard
    with pytest.raises(BenchError, match="ZHQA_BENCH"):
        find_shared_bench("cmrc2018", start=deep)
    elsewhere = tmp_path / "elsewhere" / "cmrc2018"
    elsewhere.mkdir(parents=True)
    (elsewhere / "queries.jsonl").write_text("", encoding="utf-8")
    monkeypatch.setenv("ZHQA_BENCH", str(elsewhere.parent))
    assert find_shared_bench("cmrc2018", start=deep) == elsewhere
