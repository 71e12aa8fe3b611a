"""Programmatic criteria: does a draft pass one (the failure absent)? What ``eval_check`` interventions test.

No model: a regex, a word limit, a required or forbidden string, valid JSON, or the task's
reference answer. ``llm_judge`` criteria are answered by a judge (``oversight.intervene.validate``).
Here, below the stages that use them: the critique stage runs accepted checks on every draft.
"""

from __future__ import annotations

import json
import re

from oversight.schemas import CheckCriterion

__all__ = ["PROGRAMMATIC", "check_error", "passes", "word_count"]

PROGRAMMATIC = frozenset({"regex", "forbidden_regex", "max_words", "min_words", "required", "forbidden",
                          "valid_json", "contains_reference"})
_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def word_count(text: str) -> int:
    """Words as a reader counts them ("Buenos Aires." is two; punctuation is not a word)."""
    return len(_WORD.findall(text))


def check_error(criterion: CheckCriterion) -> str | None:
    """Why a criterion cannot run (a regex that does not compile, a limit that is not a number), or None."""
    kind, value = criterion.kind, criterion.value
    if kind in ("regex", "forbidden_regex"):
        if not isinstance(value, str) or not value:
            return f"{kind} needs a pattern"
        try:
            re.compile(value)
        except re.error as exc:
            return f"{kind} {value!r} does not compile: {exc}"
    if kind in ("max_words", "min_words") and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        return f"{kind} needs a whole number of words, got {value!r}"
    if kind in ("required", "forbidden") and (not isinstance(value, str) or not value.strip()):
        return f"{kind} needs a string"
    return None


def passes(criterion: CheckCriterion, text: str, *, reference: str | None = None) -> bool:
    """True when ``text`` passes (the failure is absent). Raises ValueError for an unusable criterion
    or an ``llm_judge`` one (a judge answers those), and for ``contains_reference`` without a reference."""
    problem = check_error(criterion)
    if problem:
        raise ValueError(problem)
    kind, value = criterion.kind, criterion.value
    if kind == "regex":
        return re.search(str(value), text, flags=re.MULTILINE) is not None
    if kind == "forbidden_regex":
        return re.search(str(value), text, flags=re.MULTILINE) is None
    if kind == "max_words":
        return word_count(text) <= int(value)  # type: ignore[arg-type]
    if kind == "min_words":
        return word_count(text) >= int(value)  # type: ignore[arg-type]
    if kind == "required":
        return str(value).casefold() in text.casefold()
    if kind == "forbidden":
        return str(value).casefold() not in text.casefold()
    if kind == "valid_json":
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    if kind == "contains_reference":
        if not reference:
            raise ValueError("contains_reference needs the task's reference answer")
        return reference.casefold() in text.casefold()
    raise ValueError(f"{kind} is answered by a judge, not a program")
