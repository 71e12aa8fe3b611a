"""Reading a declared experiment from YAML, with errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.schemas import Experiment

__all__ = ["load_experiment"]


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (as deep as it exists)."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def load_experiment(path: str | Path) -> Experiment:
    """The experiment declared in a YAML file. Raises InputFileError naming the line and field."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(str(path), None, None, f"cannot read it: {exc.strerror or exc}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFileError(str(path), mark.line + 1 if mark else None, None,
                             f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise InputFileError(str(path), 1, None, "an experiment is a mapping (name:, conditions:, ...)")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p in ("ScriptedReviewer", "LLMReviewer",
                                                                                 "HumanReviewers", "catches",
                                                                                 "prefers_longer", "skims", "llm",
                                                                                 "human")))
        field = ".".join(str(p) for p in loc) or None
        message = first["msg"].removeprefix("Value error, ").lower() if first["msg"] else "invalid"
        raise InputFileError(str(path), _line_of(node, loc), field, message) from exc
