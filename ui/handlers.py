"""What the page, the Gradio API and the plain HTTP API share: their arguments checked and parsed, and the
answer as JSON. Bad input raises `UserProblem`, whose message is Chinese and shown as is."""
from __future__ import annotations

import calendar
import re

from qa import Filters, QuestionError, ask

DEFAULT_K = 5

MSG_EMPTY = "请输入问题，例如：哪些城市推行拿地即开工？"
MSG_FAILED = "检索时出错了，请稍后再试。（详细原因已记录在服务器日志里）"


class UserProblem(ValueError):
    """Bad input from the page; the message is Chinese and shown as is."""


# --- input parsing ---------------------------------------------------------------------------
_DATE_BOUND = re.compile(r"^\s*(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?)?\s*年?\s*$")


def date_bound(value: str | None, end: bool = False) -> str:
    """A date filter's bound as the user typed it: '2024', '2024-03', '2024/3/5', '2024年3月5日' -> ISO
    date; a year or month alone means its first day (`end=False`) or last day (`end=True`). '' stays ''.
    (Dates found in a document's own text are `index.ingest.metadata.parse_date`'s job.)"""
    text = (value or "").strip()
    if not text:
        return ""
    m = _DATE_BOUND.match(text)
    if not m:
        raise UserProblem(f"日期“{text}”看不懂：请写成 2024-03-05、2024-03 或 2024 这样的格式。")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            month_n, day_n = (12, 31) if end else (1, 1)
        else:
            month_n = int(month)
            last = calendar.monthrange(year, month_n)[1]
            day_n = int(day) if day else (last if end else 1)
            if not 1 <= day_n <= last:
                raise ValueError
    except (ValueError, calendar.IllegalMonthError):
        raise UserProblem(f"日期“{text}”不存在，请检查月份和日期。") from None
    return f"{year:04d}-{month_n:02d}-{day_n:02d}"


def make_filters(sources=None, date_from: str = "", date_to: str = ""):
    if isinstance(sources, str):
        sources = [sources] if sources else []
    start, stop = date_bound(date_from), date_bound(date_to, end=True)
    if start and stop and start > stop:
        raise UserProblem(f"起始日期 {start} 晚于截止日期 {stop}，请调换一下。")
    return Filters(sources=tuple(s for s in (sources or []) if s), date_from=start, date_to=stop)


def k_of(value) -> int:
    try:
        k = int(value)
    except (TypeError, ValueError, OverflowError):  # not a number, NaN, infinity
        return DEFAULT_K
    return max(1, min(k, 100))



def ask_json(searcher, question: str, k: int = DEFAULT_K, sources=None, date_from: str = "", date_to: str = "") -> dict:
    """`ask(...).to_dict()`, the structure `zhqa ask --json` prints. Raises UserProblem for bad input."""
    if question is None or not str(question).strip():
        raise UserProblem(MSG_EMPTY)
    filters = make_filters(sources, date_from, date_to)
    try:
        answer = ask(searcher, str(question), k=k_of(k), filters=filters if filters.active() else None)
    except QuestionError:
        raise UserProblem(MSG_EMPTY) from None
    return answer.to_dict()


def json_kind(value) -> str:
    """What a JSON value is, in the words of an error message."""
    return {bool: "布尔值", int: "数字", float: "数字", str: "文字", list: "列表", dict: "对象", type(None): "null"}.get(
        type(value), type(value).__name__)


def api_arguments(question, k, sources, date_from, date_to) -> tuple[str, int, list[str], str, str]:
    """The /ask arguments checked for type and range, as the HTTP API may send anything JSON holds: a clear
    UserProblem instead of a guess (a list is not a question, True is not a k) or a server traceback.
    null means the default."""
    if not isinstance(question, str):
        raise UserProblem(f"question 应为文字，收到的是{json_kind(question)}。")
    if k is None:
        k = DEFAULT_K
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        raise UserProblem(f"k 应为 1 到 100 之间的整数，收到的是{json_kind(k)} {str(k)[:40]}。")
    if not 1 <= k <= 100:
        raise UserProblem(f"k 应在 1 到 100 之间，收到的是 {str(k)[:40]}。")
    if sources is None:
        sources = []
    elif isinstance(sources, str):
        sources = [sources] if sources else []
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
        raise UserProblem(f"sources 应为来源名称（文字）的列表，收到的是{json_kind(sources)}。")
    dates = []
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None and not isinstance(value, str):
            raise UserProblem(f"{name} 应为 2024-03-05 这样的日期文字，收到的是{json_kind(value)}。")
        dates.append(value or "")
    return question, k, sources, dates[0], dates[1]
