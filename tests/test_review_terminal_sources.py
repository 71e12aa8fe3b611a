"""`oversight review` in the terminal names who found each finding: the critic model or the check."""

from __future__ import annotations

import click
from click.testing import CliRunner

from oversight.cli.review import _show
from oversight.review import QueueEntry, ReviewItem
from oversight.schemas import Critique, Draft, Finding, Task


def test_each_finding_is_shown_with_its_source() -> None:
    model = Finding(quote="a city on the Seine", issue="Too much detail.", severity="low", category="style")
    check = Finding(quote="a city on the Seine", issue='not in the context: "Seine"', severity="high",
                    category="unsupported-claim", source="check: not in the context")
    item = ReviewItem(QueueEntry("t", "th"), Task(id="t", prompt="Capital of France?"),
                      Draft(id="d", task_id="t", model="m", prompt_name="draft", prompt_version="x",
                            text="Paris, a city on the Seine."),
                      Critique(id="c", draft_id="d", task_id="t", model="openai/critic", prompt_name="critique",
                               prompt_version="v", findings=[model, check]), None)

    @click.command()
    def show() -> None:
        _show(1, 1, item)

    out = CliRunner().invoke(show).output
    assert '[1] low/style (openai/critic): "a city on the Seine"' in out
    assert '[2] high/unsupported-claim (check: not in the context): "a city on the Seine"' in out
