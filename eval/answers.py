"""Short-answer scoring: exact match and character F1 as CMRC 2018's official script defines them, the share of
questions answered and the precision of what was answered, per question type.

CMRC 2018 (`cmrc2018_evaluate.py`): both strings are lower-cased and stripped of punctuation, then cut into
single CJK characters and runs of other characters; EM is 1 when the cut strings are equal to one gold answer,
F1 is computed from the longest common substring of the two cut strings (precision = LCS / prediction length,
recall = LCS / gold length), the best over the gold answers.

What is compared for each answer type: the answer text; for a yes/no question its verdict (是/否); for lists and
places the items joined by 、. A question is "answered" when the system gives a short answer at all;
`precision` is the mean EM over the answered questions, `em` and `f1` are over every question with gold. Questions
whose gold is an empty list ask for no short answer: the row `expects_none` says how many were answered anyway.
"""
from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from qa import ask
from qa.answer import ANSWER_DEPTH
from qa.passage import Passage
from qa.places import answer_places
from qa.short_answers import answer_short

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


def prediction_text(answer: dict | None) -> str:
    """What is compared with the gold: the text; a yes/no's verdict; a list's or places' items joined by 、."""
    if not answer:
        return ""
    if answer.get("type") == "yesno":
        return answer.get("verdict") or ""
    if answer.get("type") == "places":
        return "、".join(i.get("name", "") for i in answer.get("items") or ())
    if answer.get("type") == "list" and answer.get("items"):
        return "、".join(i.get("text", "") for i in answer["items"])
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
    answer: dict | None = None

    def to_dict(self) -> dict:
        return {"qid": self.qid, "question": self.question, "asks": self.asks, "answers": self.answers,
                "prediction": self.prediction, "em": self.em, "f1": self.f1, "answer": self.answer}


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
                "precision": round(sum(o.em for o in answered) / len(answered), 4) if answered else None,
                "f1_answered": round(sum(o.f1 for o in answered) / len(answered), 4) if answered else None,
                "em": round(sum(o.em for o in os) / n, 4) if n else 0.0,
                "f1": round(sum(o.f1 for o in os) / n, 4) if n else 0.0,
            }
        return out

    def to_dict(self) -> dict:
        return {"setting": self.setting, "by_type": self.table(), "questions": [o.to_dict() for o in self.outcomes]}


def format_answer_table(setting: str, table: dict[str, dict]) -> str:
    """The per-type table (`AnswerScores.table()`, or `by_type` of its JSON) as text."""
    rows = [f"answers ({setting}): type       n  answered  precision  EM     F1"]
    for asks, r in sorted(table.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        precision = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        rows.append(f"  {asks:<10} {r['questions']:>5}  {r['answered']:.3f}     {precision:>5}     "
                    f"{r['em']:.3f}  {r['f1']:.3f}")
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
            answer = (answer_places(prepared, [whole], documents) if prepared.asks == "places"
                      else answer_short(prepared, [whole], documents))
        d = answer.to_dict() if answer else None
        pred = prediction_text(d)
        scores.outcomes.append(AnswerOutcome(
            q.qid, q.question, prepared.asks, list(q.answers), pred,
            exact_match(pred, q.answers) if pred else 0.0, char_f1(pred, q.answers) if pred else 0.0, d))
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
