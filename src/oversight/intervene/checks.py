"""Programmatic regression checks (``eval_check`` interventions): kept in ``oversight.refine.criteria``,
where the critique stage runs the accepted ones on every new draft; re-exported here for intervene."""

from __future__ import annotations

from oversight.refine.criteria import PROGRAMMATIC, check_error, passes, word_count

__all__ = ["PROGRAMMATIC", "check_error", "passes", "word_count"]
