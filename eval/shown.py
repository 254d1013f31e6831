"""What a reader is shown, scored: whether `qa.ask` says "the documents do not answer" exactly when they do not,
and whether a card leads with the paragraph that holds the fact.

* **Abstention.** Every question of a span-gold set is answerable: each one `ask` flags is a real question
  turned away. An unanswerable set (JSON lines ``{"qid", "question", "kind"}``, no gold; kinds such as nonsense,
  off_topic, absent) is scored per kind: the share flagged.
* **Leading paragraph.** For each span-gold question whose span stands in one of the shown cards, the first
  such card: does its leading paragraph (`Passage.lead`) hold the span (the same rule as retrieval, see
  `eval.questions`)? "before" is the same count for the card as it led before leads existed: its first paragraph.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .questions import GoldJudge, QuestionSet, QuestionSetError

SHOWN_K = 5  # the cards the page shows


def load_unanswerable(path: str | Path) -> list[dict]:
    """Questions the documents do not answer: [{"qid", "question", "kind"}]; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"{path}: cannot read ({exc})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or not row["question"].strip():
            raise QuestionSetError(f"{path}:{n}: expected an object with a non-empty \"question\"")
        rows.append({"qid": str(row.get("qid", f"u{n}")), "question": row["question"].strip(),
                     "kind": str(row.get("kind") or "unanswerable")})
    if not rows:
        raise QuestionSetError(f"{path}: no questions in the file")
    return rows


def _first_paragraph(doc, p) -> tuple[int, int]:
    ps, pe = doc.paragraph_spans()[doc.paragraph_at(p.start) - 1]
    return max(ps, p.start), min(pe, p.end)


def evaluate_shown(searcher, qset: QuestionSet | None = None, unanswerable: list[dict] | None = None,
                   k: int = SHOWN_K) -> dict:
    """Abstention and leading-paragraph figures of `qa.ask` (see the module docstring)."""
    from qa import ask  # the answering path, as the page and the CLI run it

    documents = searcher.store.documents
    out: dict = {}
    if qset is not None:
        judge = GoldJudge(documents)
        flagged, leads_before, leads_after, held, rows = 0, 0, 0, 0, []
        for q in qset.questions:
            answer = ask(searcher, q.question, k=k)
            flagged += not answer.answerable
            if not answer.answerable:
                rows.append({"qid": q.qid, "question": q.question, "confidence": answer.to_dict()["confidence"]})
            for p in answer.passages:
                hits = judge.matches(q, p.doc_id, p.start, p.end, p.text)
                if not hits:
                    continue
                held += 1
                doc = documents[p.doc_id]
                ls, le = (p.lead.start, p.lead.end) if p.lead else (p.start, p.end)
                fs, fe = _first_paragraph(doc, p)
                leads_after += any(judge.satisfies(q.gold[i], p.doc_id, ls, le, doc.text[ls:le]) for i in hits)
                leads_before += any(judge.satisfies(q.gold[i], p.doc_id, fs, fe, doc.text[fs:fe]) for i in hits)
                break
        out["answerable"] = {"set": qset.name, "n": len(qset), "flagged": flagged, "flagged_questions": rows}
        out["lead"] = {"k": k, "cards_holding_gold": held, "lead_holds_span": leads_after,
                       "first_paragraph_holds_span": leads_before}
    if unanswerable:
        total, flagged, missed = Counter(), Counter(), []
        for row in unanswerable:
            answer = ask(searcher, row["question"], k=k)
            total[row["kind"]] += 1
            if answer.answerable:
                missed.append({**row, "confidence": answer.to_dict()["confidence"]})
            else:
                flagged[row["kind"]] += 1
        out["unanswerable"] = {"by_kind": {kind: {"n": total[kind], "flagged": flagged[kind]} for kind in total},
                               "not_flagged": missed}
    return out


def format_shown(shown: dict) -> str:
    """The figures as lines of text for the terminal."""
    lines = ["能否回答 (qa.ask, shown cards k=%d)" % shown.get("lead", {}).get("k", SHOWN_K)]
    a = shown.get("answerable")
    if a:
        lines.append(f"  answerable set {a['set']}: {a['flagged']} of {a['n']} flagged as not answered")
        for row in a["flagged_questions"]:
            lines.append(f"    flagged {row['qid']} ({row['confidence']}): {row['question']}")
    for kind, f in (shown.get("unanswerable") or {}).get("by_kind", {}).items():
        lines.append(f"  unanswerable {kind}: {f['flagged']} of {f['n']} flagged ({f['flagged'] / max(1, f['n']):.0%})")
    for row in (shown.get("unanswerable") or {}).get("not_flagged", []):
        lines.append(f"    not flagged {row['qid']} {row['kind']} ({row['confidence']}): {row['question']}")
    lead = shown.get("lead")
    if lead and lead["cards_holding_gold"]:
        n = lead["cards_holding_gold"]
        lines.append(f"  leading paragraph holds the gold span: {lead['lead_holds_span']} of {n} "
                     f"({lead['lead_holds_span'] / n:.1%}); the card's first paragraph did: "
                     f"{lead['first_paragraph_holds_span']} of {n} ({lead['first_paragraph_holds_span'] / n:.1%})")
    return "\n".join(lines)
