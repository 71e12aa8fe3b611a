"""Untrusted text (note texts, pattern names, slice values, member ids) cannot become markup
in either report: Markdown is rendered to HTML by most viewers, and HTML is opened in a browser."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from oversight.mine.miner import MiningResult
from oversight.report import ReportSection, build_report, render_html, render_markdown
from oversight.report.markdown import md_text
from oversight.schemas import MiningRun, Pattern, PatternStats, Representative, TrendPoint

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
AUTOLINK = "<javascript:alert(1)>"
IMAGE = "![x](javascript:alert(1))"
PAYLOADS = [SCRIPT, IMG, LINK, AUTOLINK, IMAGE, "a | b", "javascript:alert(1)", "`code` span", "back\\slash"]
EVERYTHING = " ".join(PAYLOADS)
# Text that would restructure a document if it started a line.
BLOCKS = ["# Heading", "## Sub", "> quoted", "- item", "* item", "+ item", "1. item", "2) item", "---", "===",
          "```", "~~~", "| a | b |"]
FORBIDDEN_MD = ["<script", "<img", "](javascript:", "<javascript:", "javascript:"]


def hostile_result() -> MiningResult:
    """Two patterns whose every untrusted string carries the payloads."""
    when = datetime(2026, 10, 1, tzinfo=UTC)
    patterns = []
    for n, (name, description) in enumerate([(SCRIPT + " " + LINK, "# Heading " + IMG),
                                             (f"{AUTOLINK} | pipe", "> " + EVERYTHING)]):
        stats = PatternStats(
            size=3, refinements=3, prevalence=0.3 - n / 10,
            slices={"model": {SCRIPT: 2, f"gpt {IMG}": 1}, "domain": {LINK: 2, AUTOLINK: 1},
                    f"field {SCRIPT}": {"a|b": 3}},
            severity={"high": 3},
            first_seen=when, last_seen=when,
            trend=[TrendPoint(period="2026-10", count=3, share=0.3)],
            representatives=[
                Representative(note_id=f"n{n}{i}", display_id=ident, text=text, similarity=0.9,
                               task_id=SCRIPT, draft_id=IMG)
                for i, (ident, text) in enumerate([(SCRIPT, EVERYTHING), ("row-7", "1. " + LINK),
                                                   (AUTOLINK, "- " + IMG)])
            ],
        )
        patterns.append(Pattern(
            id=f"p_{n}", name=name, description=description, criteria=[SCRIPT, "# " + LINK, *BLOCKS],
            keywords=[SCRIPT, LINK, AUTOLINK], named_by=f"llm:{IMG}", theme_id="theme-1",
            member_ids=[SCRIPT, LINK, f"{AUTOLINK}|x"], stats=stats,
        ))
    run = MiningRun(id="run_1", embedding_model="minilm", names="llm", notes=6, units=6, patterns=2, themes=1)
    themes = [{"id": "theme-1", "name": SCRIPT + LINK, "pattern_ids": ["p_0", "p_1"], "size": 6, "keywords": []}]
    return MiningResult(run=run, patterns=patterns, themes=themes)


SECTION = ReportSection(f"Audit {SCRIPT}", "<p>section html</p>", "section markdown")


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every table line, split where a GFM table splits them (unescaped pipes)."""
    return [re.split(r"(?<!\\)\|", line.strip()[1:-1]) for line in markdown.splitlines() if line.startswith("|")]


def test_markdown_report_has_no_live_markup() -> None:
    md = render_markdown(hostile_result(), extra_sections=[SECTION])
    for bad in FORBIDDEN_MD:
        assert bad.lower() not in md.lower(), bad
    rows = table_rows(md)
    assert len(rows) == 2 + 1 + 2 and {len(r) for r in rows} == {5}  # header, rule, the theme, one row per pattern
    # the only block structure is the report's own: its headings, lists and quotes
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == ["# Failure patterns", f"## {md_text(SCRIPT + ' ' + LINK)}",
                        f"## {md_text(AUTOLINK + ' | pipe')}", "## Noise", f"## {md_text(SECTION.title)}"]
    quotes = [line for line in md.splitlines() if line.startswith(">")]
    assert len(quotes) == 6  # the representatives, one line each
    items = [line for line in md.splitlines() if re.match(r"\s*([-*+]|\d+[.)])\s", line)]
    assert len(items) == 2 * (2 + len(BLOCKS))  # the criteria; none of the texts opened a list
    assert "```" not in md and "~~~" not in md and not re.search(r"^\s*(---|===)\s*$", md, re.MULTILINE)


def test_the_markdown_shows_the_text_as_written() -> None:
    """Escaped, not removed: a viewer decodes the references back to the characters."""
    for text in [*PAYLOADS, *BLOCKS, EVERYTHING, "plain words", "Missing data: the year 1861."]:
        escaped = md_text(text)
        assert html.unescape(escaped) == " ".join(text.split())
        assert "\n" not in escaped and not re.match(r"[#>*+=_~|-]|\d+[.)]", escaped)
    assert md_text("plain words") == "plain words"
    assert md_text("line one\n# line two") == "line one # line two"  # only a line's start opens a block


def test_markdown_ids_stay_readable_and_links_still_work() -> None:
    md = build_report(hostile_result(), {}, "md")
    assert "[" + md_text(SCRIPT + " " + LINK) + "](#p_0)" in md and '<a id="p_0"></a>' in md
    assert "(`row-7`)" in md  # a plain id keeps its code span; a hostile one is escaped text


def test_html_report_escapes_every_untrusted_string() -> None:
    page = render_html(hostile_result(), extra_sections=[SECTION])
    lowered = page.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<javascript:" not in lowered
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", lowered)
    assert "onerror=alert" not in lowered.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    for text in (SCRIPT, IMG, AUTOLINK):
        assert html.escape(text) in page
    # every tag in the page is one the report writes itself
    tags = set(re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "code", "div", "b",
                    "table", "thead", "tbody", "tr", "th", "td", "a", "br", "span", "svg", "circle", "polyline",
                    "details", "summary", "ul", "li", "blockquote", "section"}


def _render_commonmark(markdown: str) -> str:
    mdit = pytest.importorskip("markdown_it")
    return mdit.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def _render_python_markdown(markdown: str) -> str:
    module = pytest.importorskip("markdown")
    return module.markdown(markdown, extensions=["tables"])


@pytest.mark.parametrize("render", [_render_commonmark, _render_python_markdown], ids=["markdown-it", "markdown"])
def test_rendered_markdown_has_no_script_image_or_javascript_link(render) -> None:
    """Only when a Markdown renderer is installed (none is a dependency)."""
    page = render(render_markdown(hostile_result(), extra_sections=[SECTION])).lower()
    assert "<script" not in page and "<img" not in page
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", page)
    assert page.count("<table") == 1 and {row.count("<td") for row in re.findall(r"<tr>.*?</tr>", page, re.S)} <= {
        0, 5}
    assert page.count("<h1") == 1 and page.count("<blockquote") >= 1 and "<h2" in page
