"""Reading a declared experiment from YAML, with errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.files import MAX_DEPTH, check_value
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
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(str(path), None, None, f"cannot read it: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputFileError(str(path), line, None, f"not UTF-8 text (byte {exc.start})") from None
    try:
        _check_depth(text)  # before composing: the composer recurses, the parser does not
        node = yaml.compose(text)
        _check_numbers(path, node)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFileError(str(path), mark.line + 1 if mark else None, None,
                             f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    except _TooDeep as exc:
        raise InputFileError(str(path), exc.line, None, f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    except RecursionError:
        raise InputFileError(str(path), None, None, f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise InputFileError(str(path), 1, None, "an experiment is a mapping (name:, conditions:, ...)")
    for key, value in data.items():  # a NUL or a lone surrogate (YAML's "\ud800") is not text
        check_value(path, _line_of(node, (key,)), str(key), value)
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


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


def _check_depth(text: str) -> None:
    """Raise _TooDeep at the first collection nested more than MAX_DEPTH deep (YAML's events, no recursion)."""
    import yaml

    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_numbers(path: Path, node: Any) -> None:
    """Refuse an integer too long for Python to read, naming its line (before safe_load fails on it)."""
    import sys

    import yaml

    limit = sys.get_int_max_str_digits()
    stack = [node] if node is not None else []
    while stack:
        item = stack.pop()
        if isinstance(item, yaml.ScalarNode):
            if item.tag == "tag:yaml.org,2002:int" and len(item.value) > limit:
                raise InputFileError(str(path), item.start_mark.line + 1, None,
                                     f"holds a number of more than {limit} digits")
        elif isinstance(item, yaml.MappingNode):
            stack.extend(v for pair in item.value for v in pair)
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(item.value)
