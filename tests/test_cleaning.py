"""Cleaning: the real seed documents lose their chrome and wrap artefacts, and keep their wording."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.ingest import clean_body, clean_light, is_chrome_line, remove_wrap_spaces
from index.ingest import clean_text
from index.ingest import decode_bytes
from index.ingest.metadata import parse_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SEEDS = sorted(CORPUS.glob("*.txt"))
CJK = r"[\u4e00-\u9fff]"


def raw_of(prefix: str) -> str:
    path = next(p for p in SEEDS if p.name.startswith(prefix))
    return decode_bytes(path.read_bytes())[0]


@pytest.fixture(scope="module")
def cleaned() -> dict[str, str]:
    return {p.name[:3]: clean_text(decode_bytes(p.read_bytes())[0]) for p in SEEDS}


def test_there_are_five_seeds():
    assert [p.name[:3] for p in SEEDS] == ["000", "001", "002", "003", "004"]


def test_shape_one_paragraph_per_line(cleaned):
    for key, body in cleaned.items():
        assert body, key
        for line in body.split("\n"):
            assert line, f"{key}: empty line"
            assert line == line.strip(), f"{key}: untrimmed line {line!r}"
        assert "\f" not in body and "\r" not in body and "\t" not in body


@pytest.mark.parametrize(
    "artefact",
    ["字号:", "扫一扫", "请打开微信", "第07版", "上接第", "责任编辑", "enpproperty", ".html", "发布时间", "信息来源"],
)
def test_chrome_is_gone(cleaned, artefact):
    for key, body in cleaned.items():
        assert artefact not in body, f"{key} still holds {artefact!r}"


def test_chrome_lines_are_gone(cleaned):
    for key, body in cleaned.items():
        for line in body.split("\n"):
            assert not line.startswith(("字号", "打印", "扫一扫")), (key, line)


def test_page_numbers_are_gone(cleaned):
    for key, body in cleaned.items():
        for line in body.split("\n"):
            assert not re.fullmatch(r"[-－—–\s]*\d{1,4}[-－—–\s]*", line), f"{key}: page number {line!r}"
        assert not re.search(r"-\s*\d+\s*-", body), key


def test_pdf_wrap_spaces_between_cjk_are_gone():
    """003 and 004 are PDF extractions: no CJK-space-CJK survives, except inside bylines where
    spaces separate names (□ 孙贻国 胡天生, 本报讯 记者王晓涛报道 近日)."""
    for key in ("003", "004"):
        body = clean_text(raw_of(key))
        for line in body.split("\n"):
            if line.startswith(("□", "本报记者", "本报讯")):
                line = re.sub(r"^本报讯.{0,40}?报道\s+", "", line) if line.startswith("本报讯") else ""
            hit = re.search(rf"{CJK}\s+{CJK}", line)
            assert not hit, f"{key}: {line[max(0, hit.start() - 10):hit.end() + 10]!r}"
        assert "全生命周 期" not in body and "全生命周期" in body


def test_wrapped_lines_are_joined_into_paragraphs():
    paragraphs = clean_text(raw_of("003")).split("\n")

    def one_paragraph_with(*parts: str) -> bool:
        return any(all(p in para for p in parts) for para in paragraphs)

    assert one_paragraph_with("营商环境是区域经济发展的晴雨表")
    assert one_paragraph_with("全生命周期")
    # "…的理" / blank line / "念,扑下身子…" is one sentence
    assert one_paragraph_with("营商环境是区域经济发展的晴雨表", "的理念,扑下身子干实事", "有更多获得感。")
    # a photo caption that fell into a paragraph is moved out of it
    assert one_paragraph_with("未诉先办的12345热线\"接诉即办\"工作机制")
    assert "保定市政务服务中心企业服务专区一角(保定市行政审批局供图)" in paragraphs


def test_004_items_are_paragraphs_and_survive_page_breaks():
    paragraphs = clean_text(raw_of("004")).split("\n")
    item1 = next(p for p in paragraphs if p.startswith("1.保障市场主体公平竞争"))
    assert item1.endswith("〔牵头单位：区市场监督管理局；责任单位：区直各有关部门〕")
    assert "组织筹备反不正当竞争法实施30周年宣传活动" in item1
    assert any(p.startswith("2.优化政府采购门槛设置标准。") for p in paragraphs)
    # "- 17 -" sat between "失" and "信问责"
    assert any("“政府承诺+社会监督+失信问责”政务守信践诺机制" in p for p in paragraphs)
    for heading in ("一、总体要求", "二、主要目标", "三、主要任务", "（一）着力打造公平公正的法治环境（13条）"):
        assert heading in paragraphs
    # numbered items each start a paragraph: 59 of them
    assert len([p for p in paragraphs if re.match(r"\d{1,2}\.", p)]) == 59


def test_web_paragraphs_and_headings_stay_apart(cleaned):
    paragraphs = cleaned["000"].split("\n")
    for heading in ("建设高效便捷的服务环境", "营造包容有序的发展环境", "打造公平竞争的市场环境"):
        assert heading in paragraphs
    assert paragraphs[0].startswith("营商环境是企业生存发展的“沃土”")
    assert "拿地即开工" in paragraphs[11]  # paragraph 12
    assert "温度体现在政务服务再升级上——" in cleaned["001"].split("\n")
    # spaces in text that was not hard-wrapped are the author's and stay
    assert "“以高效资源整合 推动分类定向精准政务服务”" in cleaned["002"]
    assert "(牛前进\u2002翟玉娟)" in cleaned["000"]


def test_titles_and_metadata_lines_are_not_in_the_body(cleaned):
    assert not cleaned["000"].startswith("坚定抓好营商环境")
    assert not cleaned["001"].startswith("“营商沃土”夯实高质量发展之基")
    assert not cleaned["002"].startswith("河南商丘")
    assert not cleaned["003"].startswith("优化营商环境 厚植发展沃土")


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def test_wording_is_never_rewritten(cleaned):
    """Cleaning only drops characters: every paragraph is a subsequence of the raw text (and,
    photo captions moved out of a paragraph aside, the whole body is too)."""
    for key, body in cleaned.items():
        raw = raw_of(key)
        for para in body.split("\n"):
            assert _is_subsequence(para, raw), (key, para[:40])
        if key != "003":
            assert _is_subsequence(body.replace("\n", ""), raw), key
    # full-width and half-width punctuation stay as in the source
    assert "，" in cleaned["004"] and "," not in cleaned["004"]
    assert "," in cleaned["000"] and "，" not in cleaned["000"]


def test_body_of_every_seed_is_substantial(cleaned):
    raw_sizes = {key: len(re.sub(r"\s", "", raw_of(key))) for key in cleaned}
    for key, body in cleaned.items():
        assert len(body) > 0.85 * raw_sizes[key] - 200, key


# ---- synthetic cases --------------------------------------------------------------------------


def test_wrapped_text_rules():
    raw = (
        "一、总体要求\n\n"
        "以习近平新时代中国特色社会主义思想为指导，全面落实党\n\n"
        "的二十大精神，推动全区全方位高质量发展，不断提升市场主\n\n"
        "体的获得感、幸福感。\n\n"
        "- 3 -\n\f"
        "二、主要目标\n\n"
        "对标“全省最优、全国一流”，聚焦重点领域和关键环节，奋力\n\n"
        "打造公平公正的法治环境。\n"
    )
    assert clean_body(raw).split("\n") == [
        "一、总体要求",
        "以习近平新时代中国特色社会主义思想为指导，全面落实党的二十大精神，推动全区全方位高质量发展，不断提升市场主体的获得感、幸福感。",
        "二、主要目标",
        "对标“全省最优、全国一流”，聚焦重点领域和关键环节，奋力打造公平公正的法治环境。",
    ]


def test_paragraph_per_line_text_is_left_alone():
    raw = "第一段。\r\n\r\n小标题\r\n第二段 有空格。\r\n"
    assert clean_body(raw) == "第一段。\n小标题\n第二段 有空格。"


def test_remove_wrap_spaces():
    assert remove_wrap_spaces("全生命周 期") == "全生命周期"
    assert remove_wrap_spaces("2023年 9月 18日") == "2023年9月18日"
    assert remove_wrap_spaces("用户提供 PC 端服务") == "用户提供 PC 端服务"
    assert remove_wrap_spaces("Windows 10 系统") == "Windows 10系统"
    assert remove_wrap_spaces("率93.92%, 群众") == "率93.92%,群众"


@pytest.mark.parametrize(
    "line", ["字号:", "打印", "请打开微信扫一扫", "扫一扫在手机打开当前页", "第07版:国内", "(上接第一版)", "责任编辑:王小义", "- 17 -", "第 3 页 共 10 页"]
)
def test_chrome_lines(line):
    assert is_chrome_line(line)


@pytest.mark.parametrize("line", ["打印机产业园今年投产。", "扫一扫二维码即可办理。", "建设高效便捷的服务环境", "2023年9月18日"])
def test_content_lines_are_not_chrome(line):
    assert not is_chrome_line(line)


def test_clean_light():
    assert clean_light("第一行\r\n\r\n  第二行  \n\n") == "第一行\n第二行"


def test_a_masthead_above_the_doc_number_is_not_the_title():
    """GB/T 9704: 发文机关标志, then 发文字号, then the title. A web page that puts the title above the
    发文字号 keeps it."""
    notice = "晋城市城区人民政府文件\n城政发〔2023〕7号\n关于印发城区优化营商环境实施方案的通知\n各街道办事处：\n现将方案印发给你们。"
    body, meta = parse_document(notice)
    assert meta.title == "关于印发城区优化营商环境实施方案的通知" and meta.doc_number == "城政发〔2023〕7号"
    assert body.startswith("晋城市城区人民政府文件\n城政发〔2023〕7号\n各街道办事处：")
    page = "晋城市城区人民政府关于印发城区优化营商环境实施方案的通知\n城政发〔2023〕7号\n各街道办事处：\n现将方案印发给你们。"
    assert parse_document(page)[1].title == "晋城市城区人民政府关于印发城区优化营商环境实施方案的通知"
