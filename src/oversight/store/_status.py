"""What ``status`` and the lead hub count: tasks by state, spend, and each critic's tallies.

Aggregates over indexes (``STATUS_INDEXES``): no record is read, so they cost milliseconds with
100,000 tasks in the queue.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import func, or_, select

from oversight.store import tables as t
from oversight.store._base import StoreBase
from oversight.store._refine import TASK_STATES

__all__ = ["StatusRecords"]


class StatusRecords(StoreBase):
    """Counts of the refine loop's records, read from indexes."""

    def status(self) -> dict[str, Any]:
        """Counts by state, plus totals of what was spent.

        A handful of aggregate queries, each over an index (``STATUS_INDEXES``): no record is read,
        so it costs milliseconds with 100,000 tasks in the queue.
        """
        s, d, c = t.task_states, t.drafts, t.critiques
        with self.reading() as conn:
            states = dict(conn.execute(select(s.c.state, func.count()).group_by(s.c.state)).all())
            drafts, draft_tokens, draft_cost = conn.execute(select(
                func.count(), func.coalesce(func.sum(d.c.tokens), 0), func.coalesce(func.sum(d.c.cost_usd), 0.0))).one()
            critiques, critique_tokens, critique_cost = conn.execute(select(
                func.count(), func.coalesce(func.sum(c.c.tokens), 0), func.coalesce(func.sum(c.c.cost_usd), 0.0))).one()
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

    def critic_tallies(self) -> list[dict[str, Any]]:
        """Per critic (model, prompt name and version, whether its findings were checked): critiques,
        findings shown and dropped (by reason), and trainers' verdicts on the shown ones (right, wrong).

        Aggregates over indexes (``STATUS_INDEXES``), no record read: what ``status`` shows.
        """
        c, r = t.critiques, t.refinements
        critic = (c.c.model, c.c.prompt_name, c.c.prompt_version, c.c.checked)
        tallies: dict[tuple[Any, ...], dict[str, Any]] = {}
        with self.reading() as conn:
            for *key, reasons, n, shown in conn.execute(
                    select(*critic, c.c.drop_reasons, func.count(), func.sum(c.c.shown))
                    .group_by(*critic, c.c.drop_reasons)):
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
                 **{k: (dict(v) if k == "dropped" else v) for k, v in tally.items()}}
                for (model, name, version, checked), tally in tallies.items()]
