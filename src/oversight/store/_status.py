"""What ``status`` and the lead hub count: tasks by state, spend, and each critic's tallies.

Aggregates over indexes (``STATUS_INDEXES``): no record is read, so they cost milliseconds with
100,000 tasks in the queue. Gold copies (a gold item's own task, draft and critique in one trainer's
queue) are no part of the work: each aggregate counts every row, then takes the gold copies' away in
the same statement (``UNION ALL`` of the negated sums over the few copies, found by primary key from
``gold_copies``), so it still reads an index.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import func, or_, select, union_all

from oversight.store import tables as t
from oversight.store._base import StoreBase
from oversight.store._refine import TASK_STATES

__all__ = ["StatusRecords"]


# The gold copies' task ids, and the ids their states name (a copy's one draft and critique): each found by
# primary key (written as a join, SQLite, without statistics, would walk the whole table to meet the few copies).
_GOLD_TASKS = select(t.gold_copies.c.task_id)


def _of_gold(column: Any) -> Any:
    return select(column).where(t.task_states.c.task_id.in_(_GOLD_TASKS))


class StatusRecords(StoreBase):
    """Counts of the refine loop's records, read from indexes."""

    def status(self) -> dict[str, Any]:
        """Counts by state, plus totals of what was spent.

        A handful of aggregate queries, each over an index (``STATUS_INDEXES``): no record is read,
        so it costs milliseconds with 100,000 tasks in the queue.
        """
        s, d, c = t.task_states, t.drafts, t.critiques
        gold_state = s.alias("gold_state")
        states: Counter[str] = Counter()
        with self.reading() as conn:
            for state, n in conn.execute(union_all(
                    select(s.c.state, func.count()).group_by(s.c.state),
                    select(gold_state.c.state, -func.count()).where(gold_state.c.task_id.in_(_GOLD_TASKS))
                    .group_by(gold_state.c.state))):
                states[state] += int(n)
            drafts, draft_tokens, draft_cost = self._less_gold(conn, d, s.c.draft_id)
            critiques, critique_tokens, critique_cost = self._less_gold(conn, c, s.c.critique_id)
            refinements = conn.scalar(select(func.count()).select_from(t.refinements)) or 0
        return {
            "tasks": sum(states.values()),
            "states": {state: int(states.get(state, 0)) for state in TASK_STATES},
            "drafts": int(drafts),
            "critiques": int(critiques),
            "refinements": int(refinements),
            "tokens": int(draft_tokens) + int(critique_tokens),
            "cost_usd": round(float(draft_cost) + float(critique_cost), 6),
        }

    @staticmethod
    def _less_gold(conn: Any, table: Any, of_state: Any) -> tuple[int, int, float]:
        """Rows of ``table`` (drafts or critiques), their tokens and cost, gold copies' (``of_state``: the
        state's column naming theirs) taken away."""
        gold = table.alias(f"gold_{table.name}")
        counted = conn.execute(union_all(
            select(func.count(), func.coalesce(func.sum(table.c.tokens), 0),
                   func.coalesce(func.sum(table.c.cost_usd), 0.0)),
            select(-func.count(), -func.coalesce(func.sum(gold.c.tokens), 0),
                   -func.coalesce(func.sum(gold.c.cost_usd), 0.0)).where(gold.c.id.in_(_of_gold(of_state))))).all()
        return (sum(int(r[0]) for r in counted), sum(int(r[1] or 0) for r in counted),
                sum(float(r[2] or 0.0) for r in counted))

    def critic_tallies(self) -> list[dict[str, Any]]:
        """Per critic (model, prompt name and version, whether its findings were checked): critiques,
        findings shown and dropped (by reason), and trainers' verdicts on the shown ones (right, wrong).

        Aggregates over indexes (``STATUS_INDEXES``), no record read: what ``status`` shows.
        """
        c, r = t.critiques, t.refinements
        critic = (c.c.model, c.c.prompt_name, c.c.prompt_version, c.c.checked)
        gold = c.alias("gold_critique")
        gold_critic = (gold.c.model, gold.c.prompt_name, gold.c.prompt_version, gold.c.checked)
        tallies: dict[tuple[Any, ...], dict[str, Any]] = {}
        with self.reading() as conn:
            for *key, reasons, n, shown in conn.execute(union_all(
                    select(*critic, c.c.drop_reasons, func.count(), func.sum(c.c.shown))
                    .group_by(*critic, c.c.drop_reasons),
                    select(*gold_critic, gold.c.drop_reasons, -func.count(), -func.sum(gold.c.shown))
                    .where(gold.c.id.in_(_of_gold(t.task_states.c.critique_id)))
                    .group_by(*gold_critic, gold.c.drop_reasons))):
                tally = tallies.setdefault(tuple(key), {"critiques": 0, "shown": 0, "dropped": Counter(),
                                                        "right": 0, "wrong": 0})
                tally["critiques"] += int(n)
                tally["shown"] += int(shown or 0)
                for reason, count in (json.loads(reasons) if reasons else {}).items():
                    tally["dropped"][reason] += int(count) * int(n)
            # refinements with verdicts first, summed per critique, then their critics: joined the other
            # way round, SQLite would walk every critique to find the few that were judged
            per_critique = (select(r.c.critique_id, func.sum(r.c.verdicts_right).label("right"),
                                   func.sum(r.c.verdicts_wrong).label("wrong"))
                            .where(r.c.critique_id.is_not(None), or_(r.c.verdicts_right > 0, r.c.verdicts_wrong > 0))
                            .group_by(r.c.critique_id).subquery())
            judged = (select(*critic, func.sum(per_critique.c.right), func.sum(per_critique.c.wrong))
                      .select_from(per_critique.join(c, c.c.id == per_critique.c.critique_id))
                      .group_by(*critic))
            for *key, right, wrong in conn.execute(judged):
                if (tally := tallies.get(tuple(key))) is not None:
                    tally["right"] += int(right or 0)
                    tally["wrong"] += int(wrong or 0)
        return [{"model": model, "prompt_name": name, "prompt_version": version, "checked": bool(checked),
                 **{k: (dict(+v) if k == "dropped" else v) for k, v in tally.items()}}
                for (model, name, version, checked), tally in tallies.items() if tally["critiques"]]
