"""Critic grounding and precision, per critic model and prompt version.

Of the findings a critic proposed, how many were grounded in the draft and shown to the
trainer (``oversight.refine.critique.ground_findings``), and of those shown that trainers judged,
how many they marked right. Counts come with every rate, so a lead sees its base.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from oversight.schemas import Critique, DroppedExample, FindingVerdict, GroundingRow

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = ["DroppedExample", "GroundingRow", "grounding_report", "grounding_rows", "grounding_status"]

EXAMPLES_PER_ROW = 5


class _Tally:
    def __init__(self) -> None:
        self.critiques = self.proposed = self.shown = self.right = self.wrong = 0
        self.dropped: Counter[str] = Counter()
        self.examples: deque[DroppedExample] = deque(maxlen=EXAMPLES_PER_ROW)

    def add(self, critique: Critique, verdicts: Sequence[FindingVerdict]) -> None:
        self.critiques += 1
        self.shown += len(critique.findings)
        self.proposed += len(critique.findings) + len(critique.dropped)
        for d in critique.dropped:
            self.dropped[d.reason] += 1
            self.examples.append(DroppedExample(critique.id, d.reason, d.finding.quote, d.finding.issue))
        for verdict in verdicts:
            if verdict.finding < len(critique.findings):  # a verdict on a finding that was shown
                if verdict.verdict == "right":
                    self.right += 1
                else:
                    self.wrong += 1


def grounding_rows(critiques: Iterable[tuple[Critique, Sequence[FindingVerdict]]]) -> list[GroundingRow]:
    """Rows per (critic model, prompt name, prompt version, checked), from critiques and their verdicts."""
    tallies: dict[tuple[str, str, str, bool], _Tally] = {}
    for critique, verdicts in critiques:
        key = (critique.model, critique.prompt_name, critique.prompt_version, bool(critique.grounding))
        tallies.setdefault(key, _Tally()).add(critique, verdicts)
    return _rows(tallies)


def _rows(tallies: dict[tuple[str, str, str, bool], _Tally]) -> list[GroundingRow]:
    rows = []
    for (model, name, version, checked), t in sorted(tallies.items(), key=lambda kv: (*kv[0][:3], not kv[0][3])):
        judged = t.right + t.wrong
        rows.append(GroundingRow(
            model=model, prompt_name=name, prompt_version=version, checked=checked,
            critiques=t.critiques, proposed=t.proposed, shown=t.shown, dropped=dict(sorted(t.dropped.items())),
            grounding_rate=t.shown / t.proposed if checked and t.proposed else None,
            judged=judged, right=t.right, wrong=t.wrong, precision=t.right / judged if judged else None,
            examples=tuple(t.examples),
        ))
    return rows


def grounding_report(store: Store) -> list[GroundingRow]:
    """Grounding rate and precision of every critic whose critiques the store keeps."""
    return grounding_rows(store.critiques_with_verdicts())


def grounding_status(store: Store) -> list[dict[str, Any]]:
    """The rows of ``grounding_report`` as JSON-ready dicts (for ``oversight status --json``), without
    the dropped examples: from the store's per-critic sums, so no critique is read."""
    tallies: dict[tuple[str, str, str, bool], _Tally] = {}
    for found in store.critic_tallies():
        tally = tallies[(found["model"], found["prompt_name"], found["prompt_version"], found["checked"])] = _Tally()
        tally.critiques, tally.shown, tally.right, tally.wrong = (found[k] for k in ("critiques", "shown", "right",
                                                                                       "wrong"))
        tally.dropped.update(found["dropped"])
        tally.proposed = tally.shown + tally.dropped.total()
    return [row.as_dict() for row in _rows(tallies)]
