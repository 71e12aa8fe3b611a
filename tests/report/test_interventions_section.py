"""The report's Interventions section: what a lead needs, and untrusted text kept inert."""

from __future__ import annotations

import html
import re

from oversight.report.interventions import interventions_section
from oversight.schemas import (
    CheckCriterion,
    EvalCheck,
    FewShot,
    FewShotExample,
    Interval,
    Intervention,
    Validation,
)
from tests.report.test_untrusted_text import FORBIDDEN_MD, IMG, LINK, SCRIPT


def hostile() -> list[Intervention]:
    few = FewShot(examples=[FewShotExample(prompt="q", answer="a")])
    validation = Validation(decided_by="check:max_words", tasks=145, controls=0, before=0.966, after=0.028,
                            change=Interval(estimate=-0.938, low=-0.972, high=-0.897),
                            regressions={f"wrong {SCRIPT} [contains_reference]": Interval(estimate=0.308, low=0.219,
                                                                                         high=0.39)},
                            outcome="regressed", reason=f"control check got worse {IMG}")
    return [
        Intervention(id="iv_1", pattern_id="p_1", kind="few_shot", title=f"Two examples {SCRIPT}", payload=few,
                     status="regressed", reason=f"lead says {LINK}", expected_effect=IMG, validations=[validation]),
        Intervention(id="iv_2", pattern_id="p_1", kind="eval_check", title="At most 3 words",
                     payload=EvalCheck(criterion=CheckCriterion(kind="max_words", value=3))),
    ]


def test_the_section_shows_before_after_intervals_and_outcome() -> None:
    section = interventions_section(hostile(), {"p_1": "Ignores the one-word instruction"})
    assert section is not None
    md = section.markdown
    assert "97% → 3% on 145 tasks, -94 pts [-97, -90]" in md and "+31 pts [+22, +39]" in md
    assert "| `iv_2` | eval_check | At most 3 words | proposed |" in md
    assert "Ignores the one-word instruction" in section.html and "regressed" in section.html
    assert section.html.count("<svg") == 2  # the change and the regression check, each on the -100..+100 scale


def test_untrusted_strings_stay_inert() -> None:
    section = interventions_section(hostile(), {"p_1": SCRIPT})
    page = section.html.lower()
    assert "<script" not in page and "<img" not in page and "<javascript:" not in page
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", page)
    assert html.escape(SCRIPT) in section.html
    tags = set(re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", section.html))
    assert tags <= {"p", "h3", "code", "table", "thead", "tbody", "tr", "th", "td", "br", "span", "div", "svg",
                    "line", "circle", "strong"}
    for bad in FORBIDDEN_MD:
        assert bad.lower() not in section.markdown.lower(), bad


def test_no_interventions_no_section() -> None:
    assert interventions_section([], {"p_1": "x"}) is None
