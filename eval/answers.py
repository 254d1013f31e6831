"""Short-answer scoring: exact match and character F1 as CMRC 2018's official script defines them, the share of
questions answered and the precision of what was answered, per question type.

CMRC 2018 (`cmrc2018_evaluate.py`): both strings are lower-cased and stripped of punctuation, then cut into
single CJK characters and runs of other characters; EM is 1 when the cut strings are equal to one gold answer,
F1 is computed from the longest common substring of the two cut strings (precision = LCS / prediction length,
recall = LCS / gold length), the best over the gold answers.

What is compared for each answer type: the answer text (a list's as it stands: 法学与知识产权); for a yes/no
question its verdict (是/否); for places, and for a question asking two values, the items joined by 、. A question is "answered" when the system gives a short answer at all. `precision` is the share of the answered
questions whose answer agrees with a gold answer: equal, or one holding the other after the same normalisation
(1678年 and 康熙十七年（1678年）, 2,173个 and 2,173个坐席: CMRC's gold spans and ours cut the same fact at different
widths); `precision_em` counts equal answers only. `em` and `f1` are over every question with gold. Questions
whose gold is an empty list ask for no short answer: the row `expects_none` says how many were answered anyway.
"""
from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from qa import Passage, answer_from, ask
from qa.answer import ANSWER_DEPTH

# CMRC 2018's punctuation list: ASCII punctuation and the Chinese marks its script removes
_PUNCT = set(string.punctuation) | set(
    "－：_*^/\\~`+=，。：？！“”；’《》……·、「」（）-～『』〈〉【】〔〕．｛｝〖〗〘〙〚〛〝〞〟〰–—‘‛„‟…‧﹏"
)
_CJK = re.compile(r"[\u4e00-\u9fff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _segments(text: str) -> list[str]:
    """CMRC's mixed segmentation: CJK characters alone, other runs as words, punctuation and spaces dropped."""
    out: list[str] = []
    word = ""
    for ch in text.lower().strip():
        if _CJK.match(ch) or ch in _PUNCT or ch.isspace():
            if word:
                out.append(word)
                word = ""
            if _CJK.match(ch):
                out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    p = _segments(prediction)
    return float(any(p == _segments(a) for a in answers))


def char_f1(prediction: str, answers: Sequence[str]) -> float:
    p = _segments(prediction)
    best = 0.0
    for a in answers:
        g = _segments(a)
        n = _lcs(p, g)
        if n:
            precision, recall = n / len(p), n / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def agrees(prediction: str, answers: Sequence[str]) -> float:
    """1 when the prediction equals a gold answer or one holds the other (normalised as for EM), else 0."""
    p = "".join(_segments(prediction))
    if not p:
        return 0.0
    for a in answers:
        g = "".join(_segments(a))
        if g and (p == g or p in g or g in p):
            return 1.0
    return 0.0


def prediction_text(answer: dict | None) -> str:
    """What is compared with the gold: the text; a yes/no's verdict; places, or two values asked, joined by 、."""
    if not answer:
        return ""
    if answer.get("type") == "yesno":
        return answer.get("verdict") or ""
    if answer.get("type") == "places":
        return "、".join(i.get("name", "") for i in answer.get("items") or ())
    if answer.get("type") == "quantity" and answer.get("items"):
        return "、".join(i.get("text", "") for i in answer["items"])
    return answer.get("text") or ""


@dataclass
class AnswerQuestion:
    qid: str
    question: str
    answers: list[str]
    gold_doc: str = ""  # the paragraph that holds the answer (the reading setting reads only it)


@dataclass
class AnswerOutcome:
    qid: str
    question: str
    asks: str
    answers: list[str]
    prediction: str
    em: float
    f1: float
    agrees: float = 0.0
    answer: dict | None = None

    def to_dict(self) -> dict:
        return {"qid": self.qid, "question": self.question, "asks": self.asks, "answers": self.answers,
                "prediction": self.prediction, "em": self.em, "f1": self.f1, "agrees": self.agrees,
                "answer": self.answer}


@dataclass
class AnswerScores:
    setting: str  # open: retrieve, then answer; reading: the gold paragraph given
    outcomes: list[AnswerOutcome] = field(default_factory=list)

    def table(self) -> dict[str, dict]:
        """Per question type (and "all"): questions, answered share, precision of answered, EM, F1."""
        groups: dict[str, list[AnswerOutcome]] = {}
        for o in self.outcomes:
            groups.setdefault(o.asks if o.answers else "expects_none", []).append(o)
        groups["all"] = [o for o in self.outcomes if o.answers]
        out = {}
        for asks, os in groups.items():
            answered = [o for o in os if o.prediction]
            n = len(os)
            out[asks] = {
                "questions": n, "answered": round(len(answered) / n, 4) if n else 0.0,
                "precision": round(sum(o.agrees for o in answered) / len(answered), 4) if answered else None,
                "precision_em": round(sum(o.em for o in answered) / len(answered), 4) if answered else None,
                "f1_answered": round(sum(o.f1 for o in answered) / len(answered), 4) if answered else None,
                "em": round(sum(o.em for o in os) / n, 4) if n else 0.0,
                "f1": round(sum(o.f1 for o in os) / n, 4) if n else 0.0,
            }
        return out

    def to_dict(self) -> dict:
        return {"setting": self.setting, "by_type": self.table(), "questions": [o.to_dict() for o in self.outcomes]}


TYPE_LABELS = {"quantity": "数量", "date": "时间", "body": "单位或人", "list": "清单", "yesno": "是否",
               "places": "地点", "none": "其他（不作简短回答）", "expects_none": "不该作答的问题", "all": "全部（有标准答案的）"}
SETTING_LABELS = {"open": "开放（先检索再作答）", "reading": "阅读（只读标准段落）"}


def answer_rows(table: dict[str, dict]) -> tuple[list[str], list[list]]:
    """The per-type table with Chinese headers, for the report and the 评测 tab."""
    headers = ["问题类型", "题数", "作答比例", "作答精确率", "其中完全一致", "EM", "F1"]
    rows = []
    for asks, r in sorted(table.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        def f(v):
            return "-" if v is None else f"{v:.3f}"
        rows.append([TYPE_LABELS.get(asks, asks), r["questions"], f(r["answered"]), f(r["precision"]),
                     f(r["precision_em"]), f(r["em"]), f(r["f1"])])
    return headers, rows


def format_answer_table(setting: str, table: dict[str, dict]) -> str:
    """The per-type table (`AnswerScores.table()`, or `by_type` of its JSON) as text."""
    rows = [f"answers ({setting}): type         n  answered  precision  (EM only)  EM     F1",
            "  (precision: the answered ones agreeing with the gold; EM, F1: over all, CMRC 2018's definitions)"]
    for asks, r in sorted(table.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        precision = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        precision_em = "-" if r["precision_em"] is None else f"{r['precision_em']:.3f}"
        rows.append(f"  {asks:<12} {r['questions']:>5}  {r['answered']:.3f}     {precision:>5}      {precision_em:>5}"
                    f"      {r['em']:.3f}  {r['f1']:.3f}")
    return "\n".join(rows)


def evaluate_answers(searcher, questions: Iterable[AnswerQuestion], setting: str = "open",
                     progress=None) -> AnswerScores:
    """Answer every question and score its short answer against the gold answers.

    `open`: the question is searched in the whole index and answered from the ranked evidence, as `zhqa ask`
    answers. `reading`: the question is answered from its gold paragraph alone (retrieval left out), so
    extraction is measured apart from retrieval."""
    if setting not in ("open", "reading"):
        raise ValueError("setting must be open or reading")
    documents = searcher.store.documents
    scores = AnswerScores(setting)
    questions = list(questions)
    for i, q in enumerate(questions):
        prepared = searcher.prepare(q.question)
        if setting == "open":
            answer = ask(searcher, prepared, k=ANSWER_DEPTH).answer
        else:
            doc = documents.get(q.gold_doc)
            if doc is None:
                continue
            whole = Passage(rank=1, score=0.0, doc_id=doc.doc_id, title=doc.title, source=doc.source, date=doc.date,
                            paragraph=1, start=0, end=len(doc.text), text=doc.text, citation="")
            answer = answer_from(prepared, [whole], documents)
        d = answer.to_dict() if answer else None
        pred = prediction_text(d)
        scores.outcomes.append(AnswerOutcome(
            q.qid, q.question, prepared.asks, list(q.answers), pred,
            exact_match(pred, q.answers) if pred else 0.0, char_f1(pred, q.answers) if pred else 0.0,
            agrees(pred, q.answers), d))
        if progress:
            progress(i + 1, len(questions))
    return scores


def load_answer_questions(path: str | Path) -> list[AnswerQuestion]:
    """Questions with gold answers: a BEIR folder (queries.jsonl with `answers`, qrels.tsv naming the paragraph)
    or our JSONL question format with `answers` (questions without answers are left out)."""
    path = Path(path)
    if path.is_dir():
        gold: dict[str, str] = {}
        qrels = path / "qrels.tsv"
        if qrels.exists():
            for line in qrels.read_text(encoding="utf-8").splitlines():
                parts = line.split("\t")
                if len(parts) >= 2 and parts[0] not in gold:
                    gold[parts[0]] = parts[1]
        rows = [json.loads(x) for x in (path / "queries.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
        return [AnswerQuestion(str(r.get("qid") or r.get("_id")), r["text"], list(r["answers"]), gold.get(str(r.get("qid") or r.get("_id")), ""))
                for r in rows if r.get("answers")]
    # our JSONL: `answers` a list of gold strings; an empty list marks a question that asks for no short answer
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        r = json.loads(line)
        if isinstance(r.get("answers"), list):
            gold_doc = (r.get("gold") or [{}])[0].get("doc", "")
            out.append(AnswerQuestion(str(r.get("qid") or f"q{n}"), r["question"], list(r["answers"]), gold_doc))
    return out
