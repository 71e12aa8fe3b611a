"""The leads' report carries the audit of judgments kept in the store."""

from __future__ import annotations

from pathlib import Path

from oversight.audit.persist import save_judgments
from oversight.audit.records import PairwiseJudgment
from oversight.audit.report import report_sections
from oversight.store import Store


def test_no_judgments_no_section(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        assert report_sections(store) == []


def test_stored_judgments_become_an_audit_section(tmp_path: Path) -> None:
    judgments = [
        PairwiseJudgment(id=f"p{i}", prompt="Q", response_a="short", response_b="a much longer answer " * (1 + i % 3),
                         annotator=f"r{i % 2}", choice="b" if i % 4 else "a")
        for i in range(12)
    ]
    with Store.open(tmp_path / "r.db") as store:
        save_judgments(store, judgments)
        [section] = report_sections(store)
    assert section.title == "Audit of preference judgments"
    assert "<svg" in section.html or "too few" in section.html.lower()
    assert "too few" in section.markdown.lower()  # 12 judgments: the audit must not conclude
