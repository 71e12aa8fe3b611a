"""Read judgment files (JSONL, CSV, Parquet) with column mapping; validate the whole file first.

Pairwise rows need ``id, prompt, response_a, response_b, annotator, choice``; pointwise
rows need ``id, item, annotator`` and ``score`` or ``label``. Other column names map with
``{"choice": "label"}`` (``--map choice=label``). Columns the schema does not know go into
``metadata``. Choices accept ``a``/``b``/``tie`` and the usual spellings (``A``, ``1``,
``2``, ``0`` for a tie, ``model_a``...). The first bad row raises ``InputFileError``
naming the file, the line and the field; nothing is returned for a file with any bad row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from oversight.errors import ConfigError, InputFileError
from oversight.schemas import Judgment, PairwiseJudgment, PointwiseJudgment, Refinement, Task

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = [
    "PAIRWISE_FIELDS",
    "POINTWISE_FIELDS",
    "SIMULATED_PREFIX",
    "import_judgments",
    "is_simulated",
    "judgments_from_refinements",
    "normalise_choice",
    "parse_mapping",
    "read_judgments",
    "simulated_annotator",
]

PAIRWISE_FIELDS = (
    "id",
    "prompt",
    "response_a",
    "response_b",
    "annotator",
    "choice",
    "gold",
    "shown_first",
    "model_a",
    "model_b",
    "kind",
    "domain",
    "metadata",
)
POINTWISE_FIELDS = ("id", "item", "annotator", "score", "label", "gold", "kind", "domain", "metadata")
_KNOWN = set(PAIRWISE_FIELDS) | set(POINTWISE_FIELDS)
SIMULATED_PREFIX = "sim:"  # the annotator of a simulated reviewer's judgment (as "llm:" names an LLM judge)
_A = {"a", "1", "response_a", "model_a", "output_1", "output (a)", "first", "left"}
_B = {"b", "2", "response_b", "model_b", "output_2", "output (b)", "second", "right"}
_TIE = {"tie", "0", "draw", "equal", "same", "tie (bothbad)", "both", "none"}


def parse_mapping(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Turn ``["choice=label", ...]`` into ``{"choice": "label"}``. Raises ConfigError."""
    if not specs:
        return {}
    if isinstance(specs, Mapping):
        pairs = list(specs.items())
    else:
        pairs = []
        for spec in specs:
            canonical, sep, column = spec.partition("=")
            if not sep or not canonical.strip() or not column.strip():
                raise ConfigError(f"--map {spec!r}: write it as FIELD=COLUMN, e.g. choice=label")
            pairs.append((canonical.strip(), column.strip()))
    mapping = {}
    for canonical, column in pairs:
        if canonical not in _KNOWN:
            raise ConfigError(f"--map: unknown field {canonical!r}; known: {', '.join(sorted(_KNOWN))}")
        mapping[canonical] = column
    return mapping


def normalise_choice(value: Any, *, allow_tie: bool = True) -> str:
    """Map the usual spellings of a pairwise choice to ``a``, ``b`` or ``tie``. Raises ValueError."""
    expected = "a, b or tie" if allow_tie else "a or b"
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected {expected}, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    if text in _A:
        return "a"
    if text in _B:
        return "b"
    if allow_tie and text in _TIE:
        return "tie"
    raise ValueError(f"expected {expected}, got {value!r}")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) pairs: the one reader every import uses. Raises InputFileError."""
    from oversight.files import read_rows

    yield from read_rows(path)


def _kind_of(row: dict[str, Any], mapping: dict[str, str]) -> Literal["pairwise", "pointwise"] | None:
    if mapping.get("response_a", "response_a") in row:
        return "pairwise"
    if mapping.get("item", "item") in row:
        return "pointwise"
    return None


def _convert(
    row: dict[str, Any], mapping: dict[str, str], kind: Literal["pairwise", "pointwise"], path: str, line: int
) -> Judgment:
    fields = PAIRWISE_FIELDS if kind == "pairwise" else POINTWISE_FIELDS
    column = {f: mapping.get(f, f) for f in fields}
    used = set(column.values())
    data: dict[str, Any] = {}
    for field in fields:
        value = row.get(column[field])
        if value is None:
            continue
        data[field] = _field_value(field, value, kind, path, line, column[field])
    metadata = dict(data.get("metadata") or {})
    metadata.update({k: v for k, v in row.items() if k not in used and v is not None})
    data["metadata"] = metadata
    model = PairwiseJudgment if kind == "pairwise" else PointwiseJudgment
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error["loc"][0] if error["loc"] else None
        name = column.get(str(loc), str(loc)) if loc is not None else ("score/label" if kind == "pointwise" else None)
        message = "missing" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        raise InputFileError(path, line, name, message) from exc


def _field_value(field: str, value: Any, kind: str, path: str, line: int, column: str) -> Any:
    """Coerce one cell to what the record wants; raise InputFileError naming the column."""
    from oversight.files import parse_json_cell

    try:
        if field in {"id", "item", "annotator", "prompt", "response_a", "response_b", "model_a", "model_b"}:
            if isinstance(value, (dict, list)):
                raise ValueError("expected text")
            return str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))
        if field == "choice":
            return normalise_choice(value)
        if field == "shown_first":
            return normalise_choice(value, allow_tie=False)
        if field == "gold" and kind == "pairwise":
            return normalise_choice(value, allow_tie=False)
        if field == "score":
            score = float(value)
            if not math.isfinite(score):
                raise ValueError("expected a finite number")
            return score
        if field == "gold":
            try:
                return float(value)
            except (TypeError, ValueError):
                return str(value)
        if field == "metadata":
            parsed = parse_json_cell(path, line, column, value) if isinstance(value, str) else value
            if not isinstance(parsed, dict):
                raise ValueError("expected an object")
            return parsed
        return str(value)
    except (TypeError, ValueError) as exc:
        message = str(exc) if not isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        if "could not convert" in message:
            message = f"expected a number, got {value!r}"
        raise InputFileError(path, line, column, message) from exc


def read_judgments(path: str | Path, mapping: Mapping[str, str] | Sequence[str] | None = None) -> list[Judgment]:
    """Read and validate every row of a judgment file. Raises InputFileError on the first bad row."""
    path = Path(path)
    columns = parse_mapping(mapping)
    if not path.is_file():
        raise InputFileError(str(path), None, None, "no such file")
    kind: Literal["pairwise", "pointwise"] | None = None
    out: list[Judgment] = []
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for line, row in _rows(path):
            if kind is None:
                kind = _kind_of(row, columns)
                if kind is None:
                    field = columns.get("response_a", "response_a")
                    raise InputFileError(str(path), line, field, "missing (pairwise rows need it; pointwise need item)")
            judgment = _convert(row, columns, kind, str(path), line)
            if judgment.key in seen:
                raise InputFileError(
                    str(path),
                    line,
                    columns.get("annotator", "annotator"),
                    f"duplicate judgment: same id and annotator as line {seen[judgment.key]}",
                )
            seen[judgment.key] = line
            out.append(judgment)
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), None, None, "not UTF-8 text") from exc
    if not out:
        raise InputFileError(str(path), None, None, "no judgments in file")
    return out


def import_judgments(
    store: Store, path: str | Path, mapping: Mapping[str, str] | Sequence[str] | None = None
) -> tuple[list[Judgment], int]:
    """Validate the whole file, then keep it in one transaction. Raises InputFileError (store untouched)."""
    loaded = read_judgments(path, mapping)
    return loaded, store.save_judgments(loaded, source=str(path))


def judgments_from_refinements(
    refinements: Iterable[Refinement], tasks: Mapping[str, Task] | None = None
) -> list[PointwiseJudgment]:
    """Each refinement decision (accept, edit, rewrite, reject) as a label on its draft by its reviewer.

    Skips are not judgments. With tasks, the task's kind and domain come along, so the
    ceilings audit can route by them. A simulated reviewer's decision is kept, marked: its
    annotator is ``sim:<reviewer>`` (never the same rater as a person of that name) and its
    metadata has ``simulated: True``; an assistance experiment's ``arm`` comes along too.
    """
    tasks = tasks or {}
    out = []
    for r in refinements:
        if r.decision == "skip":
            continue
        task = tasks.get(r.task_id)
        metadata: dict[str, object] = {"task_id": r.task_id, "source": "refinement", "confidence": r.confidence}
        if r.simulated:
            metadata["simulated"] = True
        if r.arm is not None:
            metadata["arm"] = r.arm
        out.append(
            PointwiseJudgment(
                id=r.id,
                item=r.draft_id,
                annotator=simulated_annotator(r.reviewer) if r.simulated else r.reviewer,
                label=r.decision,
                kind=task.kind if task else None,
                domain=task.domain if task else None,
                metadata=metadata,
            )
        )
    return out


def simulated_annotator(reviewer: str) -> str:
    """The annotator name of a simulated reviewer's judgments: ``sim:<reviewer>``."""
    return reviewer if reviewer.startswith(SIMULATED_PREFIX) else SIMULATED_PREFIX + reviewer


def is_simulated(judgment: Judgment) -> bool:
    """Did a simulated reviewer give this judgment (its metadata says ``simulated``)?"""
    return bool(judgment.metadata.get("simulated"))
