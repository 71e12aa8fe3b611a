"""The leads' report carries the audit of judgments kept in the store."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from oversight.leads import audit_sections
from oversight.schemas import PairwiseJudgment
from oversight.store import Store


def test_no_judgments_no_section(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        assert audit_sections(store) == []


TOO_FEW = "Style bias: too few items to conclude"


def _section(tmp_path: Path, judgments: list[PairwiseJudgment]) -> Any:
    with Store.open(tmp_path / "r.db") as store:
        store.save_judgments(judgments)
        [section] = audit_sections(store)
    return section


def test_few_stored_judgments_become_a_section_that_does_not_conclude(tmp_path: Path) -> None:
    judgments = [
        PairwiseJudgment(id=f"p{i}", prompt="Q", response_a="short", response_b="a much longer answer " * (1 + i % 3),
                         annotator=f"r{i % 2}", choice="b" if i % 4 else "a")
        for i in range(12)
    ]
    section = _section(tmp_path, judgments)
    assert section.title == "Audit of preference judgments"
    # 12 judgments: the audit must not conclude, so it draws no chart of effects
    assert TOO_FEW in section.html and TOO_FEW in section.markdown
    assert "<svg" not in section.html


def test_enough_stored_judgments_become_a_section_with_a_chart(tmp_path: Path) -> None:
    rng = random.Random(7)
    judgments = []
    for i in range(160):
        a, b = "word " * rng.randint(5, 80), "word " * rng.randint(5, 80)
        longer = "a" if len(a) > len(b) else "b"
        judgments.append(PairwiseJudgment(id=f"p{i}", prompt="Q", response_a=a, response_b=b, annotator=f"r{i % 2}",
                                          choice=longer if rng.random() < 0.7 else "ab".replace(longer, "")))
    section = _section(tmp_path, judgments)
    assert section.html.count("<svg") == 1  # the forest plot of the one fitted style model
    assert 'aria-label="Style feature effects on win probability"' in section.html
    assert TOO_FEW not in section.html and TOO_FEW not in section.markdown
    assert "160 decisive judgments, 0 ties" in section.markdown
