"""Critic grounding and precision, per critic model and prompt version, and per check.

Of the findings a critic proposed, how many were grounded in the draft and shown to the
trainer (``oversight.refine.critique.ground_findings``), and of those shown that trainers judged,
how many they marked right. Counts come with every rate, so a lead sees its base. A finding
counts for its source: the critic model's row, or the row of the check that made it
(``oversight.refine.checks``: "check: not in the context", "check: instructions", an
accepted eval check), so a check's precision is read apart from the model's.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from oversight.schemas import Critique, DroppedExample, DroppedFinding, Finding, FindingVerdict, GroundingRow

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = ["DroppedExample", "GroundingRow", "grounding_report", "grounding_rows", "grounding_status"]

EXAMPLES_PER_ROW = 5


_Key = tuple[str, str, str, bool, str]  # model (or check), prompt name, prompt version, checked, source


class _Tally:
    def __init__(self) -> None:
        self.critiques = self.proposed = self.shown = self.right = self.wrong = 0
        self.dropped: Counter[str] = Counter()
        self.examples: deque[DroppedExample] = deque(maxlen=EXAMPLES_PER_ROW)

    def add(self, critique: Critique, shown: Sequence[int], dropped: Sequence[DroppedFinding],
            verdicts: Sequence[FindingVerdict]) -> None:
        """One critique's findings of this source: the indexes of those shown, and those held back."""
        self.critiques += 1
        self.shown += len(shown)
        self.proposed += len(shown) + len(dropped)
        for d in dropped:
            self.dropped[d.reason] += 1
            self.examples.append(DroppedExample(critique.id, d.reason, d.finding.quote, d.finding.issue))
        mine = set(shown)
        for verdict in verdicts:
            if verdict.finding in mine:  # a verdict on a finding of this source that was shown
                if verdict.verdict == "right":
                    self.right += 1
                else:
                    self.wrong += 1


def _sources(critique: Critique) -> dict[_Key, tuple[list[int], list[DroppedFinding]]]:
    """The critique's findings split by source: the model's under its critic, each check's under its name."""
    model: _Key = (critique.model, critique.prompt_name, critique.prompt_version, bool(critique.grounding), "model")
    out: dict[_Key, tuple[list[int], list[DroppedFinding]]] = {model: ([], [])}

    def key(finding: Finding) -> _Key:
        return model if finding.source == "model" else (finding.source, "checks", critique.checks, True, finding.source)

    for i, finding in enumerate(critique.findings):
        out.setdefault(key(finding), ([], []))[0].append(i)
    for dropped in critique.dropped:
        out.setdefault(key(dropped.finding), ([], []))[1].append(dropped)
    return out


def grounding_rows(critiques: Iterable[tuple[Critique, Sequence[FindingVerdict]]]) -> list[GroundingRow]:
    """Rows per (critic model, prompt name, prompt version, checked) and per check, from critiques and their
    verdicts. A check's row counts the critiques it found something in."""
    tallies: dict[_Key, _Tally] = {}
    for critique, verdicts in critiques:
        for key, (shown, dropped) in _sources(critique).items():
            tallies.setdefault(key, _Tally()).add(critique, shown, dropped, verdicts)
    return _rows(tallies)


def _rows(tallies: dict[_Key, _Tally]) -> list[GroundingRow]:
    rows = []
    ordered = sorted(tallies.items(), key=lambda kv: (kv[0][4] != "model", *kv[0][:3], not kv[0][3]))
    for (model, name, version, checked, source), t in ordered:
        judged = t.right + t.wrong
        rows.append(GroundingRow(
            model=model, prompt_name=name, prompt_version=version, checked=checked,
            critiques=t.critiques, proposed=t.proposed, shown=t.shown, dropped=dict(sorted(t.dropped.items())),
            grounding_rate=t.shown / t.proposed if checked and t.proposed else None,
            judged=judged, right=t.right, wrong=t.wrong, precision=t.right / judged if judged else None,
            examples=tuple(t.examples), source=source,
        ))
    return rows


def grounding_report(store: Store) -> list[GroundingRow]:
    """Grounding rate and precision of every critic whose critiques the store keeps."""
    return grounding_rows(store.critiques_with_verdicts())


def grounding_status(store: Store) -> list[dict[str, Any]]:
    """The critic models' rows of ``grounding_report`` as JSON-ready dicts (for ``oversight status --json``),
    without the dropped examples: from the store's per-critic sums, so no critique is read. The checks'
    findings are not summed there (the store counts the model's alone): the report has their rows."""
    tallies: dict[_Key, _Tally] = {}
    for found in store.critic_tallies():
        tally = tallies[(found["model"], found["prompt_name"], found["prompt_version"], found["checked"], "model")] \
            = _Tally()
        tally.critiques, tally.shown, tally.right, tally.wrong = (found[k] for k in ("critiques", "shown", "right",
                                                                                       "wrong"))
        tally.dropped.update(found["dropped"])
        tally.proposed = tally.shown + tally.dropped.total()
    return [row.as_dict() for row in _rows(tallies)]
