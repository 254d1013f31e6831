"""What the page says about a file it could not take: in Chinese, naming the file, never a path of the server.

The index layer speaks to administrators at a terminal (English, with paths: `skipped /srv/corpus/a.pdf: not a
readable PDF (damaged or truncated file)`); the page turns each such line into 损坏的文件.pdf：不是可读取的 PDF
（文件损坏或不完整）. A reason not known here is said generally (无法读取这个文件), never in English.
"""
from __future__ import annotations

import re

# (pattern of the reason, Chinese); groups are filled into the text with str.format
_REASONS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.IGNORECASE), zh) for p, zh in [
    (r"not a readable PDF", "不是可读取的 PDF（文件损坏或不完整）"),
    (r"the PDF is encrypted", "PDF 已加密（有密码保护），请另存一份未加密的副本再上传"),
    (r"PDFium cannot open it", "无法打开这个 PDF"),
    (r"not a readable \.docx", "不是可读取的 .docx 文件（文件损坏，或并非 Word 2007 以后的格式）"),
    (r"would unpack to ([\d,]+) MB from ([\d.,]+) MB", "已拒绝：解压后将达 {0} MB（文件本身 {1} MB），疑似压缩炸弹"),
    (r"unpacks to more than its header says", "已拒绝：压缩包内文件实际大小超过声明，疑似压缩炸弹"),
    (r"would be written outside", "已拒绝：压缩包内有指向包外的路径（如 ../ 或绝对路径）"),
    (r"member .* is a link", "已拒绝：压缩包内含链接文件"),
    (r"([\d,]+) members \(more than", "已拒绝：压缩包内有 {0} 个文件，过多；请解压后按文件夹上传"),
    (r"nested \d+ deep", "压缩包嵌套层数过多，未读取"),
    (r"not a readable (?:zip|tar\.gz) archive", "不是可读取的压缩包（文件损坏）"),
    (r"member is encrypted", "压缩包内的这个文件已加密，未读取"),
    (r"archive holds no files", "压缩包是空的"),
    (r"needs LibreOffice", "读取这种格式需要服务器安装 LibreOffice，请联系管理员"),
    (r"is encrypted|are encrypted|encrypted \(password", "文件已加密（有密码保护），请另存一份未加密的副本再上传"),
    (r"not a real .+? file", "文件内容与扩展名不符（不是扩展名所示的格式）"),
    (r"LibreOffice took more than", "转换超时，文件可能过大或已损坏"),
    (r"LibreOffice could not", "无法转换这个文件（文件损坏、有密码保护或并非其扩展名所示的格式）"),
    (r"compound file|holds no Word, Excel or PowerPoint", "不是可读取的 Office 文件（文件损坏）"),
    (r"not an OFD file|damaged OFD file|OFD file holds no pages|not a readable OFD", "不是可读取的 OFD 文件（文件损坏）"),
    (r"not a readable spreadsheet|no rows with text", "不是可读取的表格，或表格中没有文字"),
    (r"more than [\d,]+ cells", "表格过大（单元格过多），不像是文档"),
    (r"not a readable image|a damaged image|is not a scanned page", "不是可读取的图片（文件损坏或尺寸过大）"),
    (r"OCR, which is off", "图片需文字识别，而文字识别已关闭"),
    (r"private glyph codes", "部分文字使用了无法还原的私有字形编码，已略去"),
    (r"not a readable CSV", "不是可读取的 CSV 文件"),
    (r"empty file", "空文件（0 字节）"),
    (r"(\d+) MB is more than the ([\d.]+) MB limit", "文件有 {0} MB，超过 {1} MB 的上限"),
    (r"not a format (?:this reads|that is read)|is not a format", "不支持的格式"),
    (r"no article text found", "网页里没有找到正文"),
    (r"a single line of ([\d,]+) characters", "不像是文档（一行就有 {0} 个字符）"),
    (r"no text after cleaning \(a scanned PDF", "没有可检索的文字（可能是扫描件，且未做文字识别）"),
    (r"no text after cleaning", "没有可检索的文字"),
    (r"binary file", "是二进制文件，不是文本"),
    (r"undecodable|does not decode", "无法识别文字编码（不是 UTF-8、GB18030 等常见编码）"),
    (r"doc id .* is already taken", "文件编号与已有文件重复，请改名后再上传"),
    (r"already exists with other content", "文档库里已有同名但内容不同的文件，请先删除旧文件或改名"),
    (r"symbolic link", "是一个失效的链接"),
    (r"not found", "找不到这个文件"),
    (r"no new content|the same as", "没有新内容（与已有文件相同）"),
]]
_SKIPPED = re.compile(r"^(?:skipped\s+)?(?P<path>.+?):\s+(?P<reason>.+)$", re.DOTALL)


def reason_in_chinese(reason: str) -> str:
    """The Chinese for one English reason of the index layer (无法读取这个文件 for one not known here)."""
    for pattern, zh in _REASONS:
        m = pattern.search(reason)
        if m:
            return zh.format(*m.groups())
    return "无法读取这个文件"


def file_problem(line: str, name: str | None = None) -> str:
    """`name`：the reason in Chinese, for a warning line such as `skipped /srv/x/a.pdf: not a readable PDF ...`.
    The file is named by `name` (what the user uploaded) or the last part of the path in the line."""
    m = _SKIPPED.match(line.strip())
    path, reason = (m.group("path"), m.group("reason")) if m else ("", line)
    shown = name or re.split(r"[\\/]", path)[-1] or "文件"
    return f"{shown}：{reason_in_chinese(reason)}"
