"""Export refinements, joined with their task, draft and critique, as JSONL, CSV or Parquet.

Streamed: the store reads refinements a chunk at a time, each chunk one query joined with its
tasks, drafts and critiques (``Store.refinement_chunks``), and the writers write each row as it
comes, so memory stays flat however many refinements there are. ``refine.training`` writes the
same stream as training data (TRL's conversational formats).
"""

from __future__ import annotations

import csv
import functools
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from oversight.store import ExportSelection, JoinedRefinement, Store

__all__ = [
    "COLUMNS",
    "ExportFilters",
    "export_rows",
    "flat_row",
    "iter_export_rows",
    "joined_refinements",
    "write_csv",
    "write_jsonl",
    "write_parquet",
]

# The columns of an export row, in order (a CSV of no refinements still has this header).
COLUMNS = (
    "refinement_id", "task_id", "prompt", "domain", "kind", "draft_id", "model", "prompt_version", "draft",
    "critique_summary", "findings", "findings_held_back", "decision", "refined_text", "tags", "rationale", "words", "confidence",
    "seconds_spent", "reviewer", "simulated", "arm", "created_at",
)

ROWS_PER_WRITE = 1000  # rows converted at a time: one chunk of the store's
# rows per Parquet row group: the writer keeps every group's metadata (with min/max of each text column)
# until it closes, so groups of 1,000 grew its memory by 50 MB over a million rows; 10,000 keep it flat
ROWS_PER_GROUP = 10_000


@dataclass(frozen=True)
class ExportFilters:
    """Which refinements an export keeps.

    ``selection`` is what the store filters (decision, reviewer, batch, pattern, time); ``tags``
    keeps refinements with any of these failure tags. ``include_simulated``: answers of a
    simulated reviewer (an experiment's scripted policy or LLM); ``include_calibration``:
    trainers' answers to calibration items (kept apart from refinements, never exported unless asked).
    """

    selection: ExportSelection = field(default_factory=ExportSelection)
    tags: tuple[str, ...] = ()
    include_simulated: bool = True
    include_calibration: bool = False

    def describe(self) -> dict[str, Any]:
        """The filters as plain values (for a dataset card): only those that narrow the export."""
        s = self.selection
        out: dict[str, Any] = {"decision": list(s.decisions), "tag": list(self.tags), "pattern": list(s.pattern_ids),
                               "batch": list(s.batches), "reviewer": list(s.reviewers),
                               "from": s.since.isoformat() if s.since else None,
                               "before": s.until.isoformat() if s.until else None}
        out = {k: v for k, v in out.items() if v}
        if s.trusted is not None:
            out["trust"] = f"qualified trainers only ({len(s.trusted)})"
        out["simulated answers"] = "included" if self.include_simulated else "left out"
        out["calibration answers"] = "included" if self.include_calibration else "left out"
        return out


def joined_refinements(store: Store, filters: ExportFilters = ExportFilters(), *,
                       left_out: Counter[str] | None = None, on_read: Callable[[int], None] | None = None,
                       light: bool = False) -> Iterator[JoinedRefinement]:
    """The refinements the filters keep (then, if asked, calibration answers), oldest first, streamed.

    ``left_out`` counts what the filters dropped after reading (simulated, tag), ``on_read`` hears
    how many records each chunk read; ``light`` reads only what training data needs
    (``Store.refinement_chunks``).
    """
    left_out = Counter() if left_out is None else left_out
    streams = [store.refinement_chunks(filters.selection, light=light)]
    if filters.include_calibration:
        streams.append(store.calibration_answer_chunks(filters.selection))
    wanted_tags, decisions = set(filters.tags), set(filters.selection.decisions)
    for stream in streams:
        for chunk in stream:
            if on_read is not None:
                on_read(len(chunk))
            for item in chunk:
                ref = item.refinement
                if item.calibration and decisions and ref.get("decision") not in decisions:
                    continue
                if ref.get("simulated") and not filters.include_simulated:
                    left_out["simulated"] += 1
                elif wanted_tags and wanted_tags.isdisjoint(ref.get("tags") or ()):
                    left_out["no chosen tag"] += 1
                else:
                    yield item


def iter_export_rows(store: Store, filters: ExportFilters = ExportFilters(), **kwargs: Any) -> Iterator[dict[str, Any]]:
    """One flat row per refinement the filters keep, oldest first, streamed."""
    for item in joined_refinements(store, filters, **kwargs):
        yield flat_row(item)


def export_rows(store: Store, filters: ExportFilters = ExportFilters()) -> list[dict[str, Any]]:
    """Every flat row in a list (for small stores and scripts; ``iter_export_rows`` streams)."""
    return list(iter_export_rows(store, filters))


def flat_row(item: JoinedRefinement) -> dict[str, Any]:
    """A refinement as one flat row (``COLUMNS``), read from the records as stored."""
    ref, task, draft, critique = item.refinement, item.task or {}, item.draft or {}, item.critique or {}
    verdicts = {v.get("finding"): v.get("verdict") for v in ref.get("finding_verdicts") or ()}
    defaults = _finding_defaults()  # a field added to Finding since a critique was kept: as validating it would
    return {
        "refinement_id": ref["id"],
        "task_id": ref["task_id"],
        "prompt": task.get("prompt"),
        "domain": task.get("domain"),
        "kind": task.get("kind"),
        "draft_id": ref["draft_id"],
        "model": draft.get("model"),
        "prompt_version": draft.get("prompt_version"),
        "draft": draft.get("text"),
        "critique_summary": critique.get("summary") if item.critique else None,
        "findings": [{**defaults, **finding, "verdict": verdicts.get(i)}
                     for i, finding in enumerate(critique.get("findings") or ())],
        # ungrounded findings the trainer was not shown, with why (a lead audits the critic with these)
        "findings_held_back": [{**defaults, **d["finding"], "reason": d.get("reason")}
                               for d in critique.get("dropped") or ()],
        "decision": ref["decision"],
        "refined_text": ref.get("refined_text"),
        "tags": list(ref.get("tags") or ()),
        "rationale": ref.get("rationale", ""),
        "words": word_counts(ref.get("diff") or ()),
        "confidence": ref.get("confidence"),
        "seconds_spent": float(ref.get("seconds_spent") or 0.0),
        "reviewer": ref.get("reviewer", "anonymous"),
        "simulated": bool(ref.get("simulated")),  # a simulated reviewer answered (an experiment's scripted policy or LLM)
        "arm": ref.get("arm"),  # an assistance experiment's arm: critique_shown, critique_hidden; None outside one
        "created_at": datetime.fromisoformat(ref["created_at"]).isoformat(),
    }


@functools.cache
def _finding_defaults() -> dict[str, Any]:
    from oversight.schemas import Finding

    return {name: spec.default for name, spec in Finding.model_fields.items() if not spec.is_required()}


def word_counts(diff: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Words kept, inserted and deleted (``answers.diff_stats``, on the diff as stored)."""
    stats = {"kept": 0, "inserted": 0, "deleted": 0}
    for op in diff:
        before, after = len((op.get("before") or "").split()), len((op.get("after") or "").split())
        if op.get("op") == "equal":
            stats["kept"] += before
        else:
            stats["deleted"] += before
            stats["inserted"] += after
    return stats


# -- writers: each row written as it comes --------------------------------------------------------------


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path | None) -> int:
    """Write rows as JSON lines to a file (atomically) or to stdout; return how many."""
    def write(out: TextIO) -> int:
        n = 0
        for n, row in enumerate(rows, 1):  # noqa: B007 (n is the count)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return n

    if path is None:
        return write(sys.stdout)
    return _write_atomically(path, lambda tmp: _with_text(tmp, write))


def write_csv(rows: Iterable[dict[str, Any]], path: str | Path | None) -> int:
    """Write rows as CSV (header first) to a file (atomically) or to stdout; return how many.

    Nested fields (findings, tags, words) are JSON text in their cell; None is an empty cell.
    """
    def write(out: TextIO) -> int:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        n = 0
        for n, row in enumerate(rows, 1):  # noqa: B007
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                             for k, v in row.items()})
        return n

    if path is None:
        return write(sys.stdout)
    return _write_atomically(path, lambda tmp: _with_text(tmp, write, newline=""))


def write_parquet(rows: Iterable[dict[str, Any]], path: str | Path, schema: Any = None) -> int:
    """Write rows as a Parquet file (atomically), a row group per ``ROWS_PER_GROUP`` rows; return how many.

    ``schema`` (pyarrow) defaults to the flat export's (``flat_schema``), so every row group
    has the same columns and types whatever its rows hold.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = schema if schema is not None else flat_schema()

    def write(tmp: Path) -> int:
        n, pending = 0, []
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in _batches(rows, ROWS_PER_WRITE):
                pending.append(pa.Table.from_pylist(part, schema=schema))
                n += len(part)
                if len(pending) * ROWS_PER_WRITE >= ROWS_PER_GROUP:
                    writer.write_table(pa.concat_tables(pending))
                    pending = []
            if pending:
                writer.write_table(pa.concat_tables(pending))
        return n

    return _write_atomically(path, write)


def flat_schema() -> Any:
    """The flat export's Parquet schema: a finding's fields as the schema declares them, plus its verdict."""
    import pyarrow as pa

    from oversight.schemas import Finding

    finding = [pa.field(name, pa.string()) for name in Finding.model_fields]
    text = pa.string()
    types: dict[str, Any] = {name: text for name in COLUMNS}
    types.update(
        findings=pa.list_(pa.struct([*finding, pa.field("verdict", text)])),
        findings_held_back=pa.list_(pa.struct([*finding, pa.field("reason", text)])),
        tags=pa.list_(text),
        words=pa.struct([pa.field(k, pa.int64()) for k in ("kept", "inserted", "deleted")]),
        confidence=pa.float64(), seconds_spent=pa.float64(), simulated=pa.bool_(),
    )
    return pa.schema([pa.field(name, types[name]) for name in COLUMNS])


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    part: list[dict[str, Any]] = []
    for row in rows:
        part.append(row)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def _with_text(path: Path, write: Callable[[TextIO], int], newline: str | None = None) -> int:
    with open(path, "w", encoding="utf-8", newline=newline) as out:
        return write(out)


def _write_atomically(path: str | Path, write: Callable[[Path], int]) -> int:
    """Write through a temporary file beside ``path``, then rename it; an OSError names ``path``."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        written = write(tmp)
        tmp.replace(target)
        return written
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
