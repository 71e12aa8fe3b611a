"""Reading a declared YAML file (an experiment, an assessment): errors that name the file, the line and the field.

The whole document is checked before anything is built from it: not UTF-8, not YAML, nested too
deep, aliases that expand without end, a NUL or a lone surrogate, a number too long to read: each
an InputFileError naming the line. ``invalid`` turns a record's ValidationError into one naming
the line of the field that failed.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from oversight.errors import InputFileError
from oversight.files import MAX_DEPTH, check_value

__all__ = ["MAX_VALUES", "Declared", "invalid", "line_of", "read_declared"]

MAX_VALUES = 100_000  # a declaration holds far fewer values than this


class Declared(NamedTuple):
    """A declared file's mapping, and its composed YAML document (for the lines of its fields)."""

    data: dict[str, Any]
    node: Any


def line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
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


def read_declared(path: str | Path, *, shape: str) -> Declared:
    """The mapping a YAML file declares. Raises InputFileError naming the line (``shape`` says what a
    mapping of this kind holds, for a file that is not one)."""
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
        _check_nodes(path, node)  # before constructing: nothing too long, too big or not text
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
        raise InputFileError(str(path), 1, None, f"{shape}")
    return Declared(data, node)


def invalid(path: str | Path, node: Any, exc: ValidationError, *, skip: Collection[str] = ()) -> InputFileError:
    """The first error of a record built from a declared file, naming its line and field (``skip``:
    the names pydantic adds to a location that are not fields, e.g. a union's members)."""
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p in skip))
    field = ".".join(str(p) for p in loc) or None
    message = first["msg"].removeprefix("Value error, ").lower() if first["msg"] else "invalid"
    return InputFileError(str(path), line_of(node, loc), field, message)


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


def _check_nodes(path: Path, root: Any) -> None:
    """One pass over the composed document, each node once (an alias is the node it names): no
    scalar holding a NUL, a lone surrogate (YAML's ``"\\ud800"``) or an integer too long to read;
    nothing that aliases expand past MAX_VALUES values or MAX_DEPTH levels, or into itself.
    Raises InputFileError naming the line."""
    import yaml

    digits = sys.get_int_max_str_digits()
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    unfinished: set[int] = set()  # the nodes from the root to the one being read
    stack: list[tuple[Any, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, finished = stack.pop()
        key, line = id(node), node.start_mark.line + 1
        kids = [] if isinstance(node, yaml.ScalarNode) else \
            [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if finished:
            unfinished.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_VALUES:
                raise InputFileError(str(path), line, None, f"expands (through aliases) to more than {MAX_VALUES:,} "
                                                            "values")
            if depth[key] > MAX_DEPTH + 1:
                raise InputFileError(str(path), line, None, f"nested too deeply (more than {MAX_DEPTH} levels)")
            continue
        if key in size:
            continue
        if key in unfinished:
            raise InputFileError(str(path), line, None, "an alias refers to a node that holds it")
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(path, line, node, digits)
            size[key], depth[key] = 1, 0
            continue
        unfinished.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids)


def _check_scalar(path: Path, line: int, node: Any, digits: int) -> None:
    check_value(path, line, None, node.value)
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > digits:
        raise InputFileError(str(path), line, None, f"holds a number of more than {digits} digits")
