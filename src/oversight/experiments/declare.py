"""Reading a declared experiment from YAML, with errors that name the file, the line and the field
(the reading itself is ``oversight.declared``'s, shared with the assessments)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from oversight.declared import invalid, read_declared
from oversight.schemas import Experiment

__all__ = ["load_experiment"]

# names pydantic puts in a location that are the members of a union, not fields of the file
_NOT_FIELDS = ("ScriptedReviewer", "LLMReviewer", "HumanReviewers", "catches", "prefers_longer", "skims", "llm",
               "human")


def load_experiment(path: str | Path) -> Experiment:
    """The experiment declared in a YAML file. Raises InputFileError naming the line and field."""
    declared = read_declared(path, shape="an experiment is a mapping (name:, conditions:, ...)")
    try:
        return Experiment.model_validate(declared.data)
    except ValidationError as exc:
        raise invalid(path, declared.node, exc, skip=_NOT_FIELDS) from exc
