"""The columns kept beside each draft, critique and refinement record for `status` to sum.

Computed from the record's JSON when a row is written, and by migration m014 for rows written
before it; this module imports nothing of oversight, so migrations can use it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

__all__ = ["critique_summary", "draft_summary", "refinement_summary"]


def draft_summary(data: dict[str, Any]) -> dict[str, Any]:
    """A draft record's usage columns."""
    usage = data.get("usage") or {}
    return {"tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
            "cost_usd": float(usage.get("cost_usd", 0.0))}


def _by_model(finding: dict[str, Any]) -> bool:
    return (finding.get("source") or "model") == "model"


def critique_summary(data: dict[str, Any]) -> dict[str, Any]:
    """A critique record's critic, grounding counts and usage columns.

    The counts are the critic model's: the findings of checks that need no model (``source`` other
    than "model") are not its work. A critique lists the model's findings first, so a verdict on
    finding i < shown is a verdict on the model.
    """
    reasons = Counter(str(d.get("reason")) for d in data.get("dropped") or [] if _by_model(d.get("finding") or {}))
    shown = sum(1 for f in data.get("findings") or [] if _by_model(f))
    return {"prompt_name": data.get("prompt_name") or "", "prompt_version": data.get("prompt_version") or "",
            "checked": bool(data.get("grounding")), "shown": shown,
            "dropped": reasons.total(), "drop_reasons": json.dumps(dict(sorted(reasons.items()))) if reasons else "",
            **draft_summary(data)}


def refinement_summary(data: dict[str, Any], shown: int) -> dict[str, Any]:
    """A refinement record's critique and its verdicts on the ``shown`` findings of that critique
    (a verdict past them was on nothing the trainer saw: not counted)."""
    verdicts = [v for v in data.get("finding_verdicts") or [] if int(v.get("finding", 0)) < shown]
    return {"critique_id": data.get("critique_id"),
            "verdicts_right": sum(1 for v in verdicts if v.get("verdict") == "right"),
            "verdicts_wrong": sum(1 for v in verdicts if v.get("verdict") != "right")}
