"""Export refinements, joined with their task, draft and critique, as JSONL, CSV or Parquet."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oversight.refine.answers import diff_stats
from oversight.store import Store

__all__ = ["COLUMNS", "export_rows", "write_csv", "write_jsonl", "write_parquet"]

# The columns of an export row, in order (a CSV of no refinements still has this header).
COLUMNS = (
    "refinement_id", "task_id", "prompt", "domain", "kind", "draft_id", "model", "prompt_version", "draft",
    "critique_summary", "findings", "findings_held_back", "decision", "refined_text", "tags", "rationale", "words", "confidence",
    "seconds_spent", "reviewer", "simulated", "arm", "created_at",
)


def export_rows(store: Store) -> list[dict[str, Any]]:
    """One flat row per refinement, oldest first."""
    rows = []
    tasks = {t.id: t for t in store.tasks()}
    for ref in store.refinements():
        task = tasks.get(ref.task_id)
        draft = store.get_draft(ref.draft_id)
        critique = store.get_critique(ref.critique_id) if ref.critique_id else None
        findings = critique.findings if critique else []
        rows.append(
            {
                "refinement_id": ref.id,
                "task_id": ref.task_id,
                "prompt": task.prompt if task else None,
                "domain": task.domain if task else None,
                "kind": task.kind if task else None,
                "draft_id": ref.draft_id,
                "model": draft.model if draft else None,
                "prompt_version": draft.prompt_version if draft else None,
                "draft": draft.text if draft else None,
                "critique_summary": critique.summary if critique else None,
                "findings": [
                    {
                        **f.model_dump(mode="json"),
                        "verdict": next((v.verdict for v in ref.finding_verdicts if v.finding == i), None),
                    }
                    for i, f in enumerate(findings)
                ],
                # ungrounded findings the trainer was not shown, with why (a lead audits the critic with these)
                "findings_held_back": [
                    {**d.finding.model_dump(mode="json"), "reason": d.reason} for d in (critique.dropped if critique else [])
                ],
                "decision": ref.decision,
                "refined_text": ref.refined_text,
                "tags": ref.tags,
                "rationale": ref.rationale,
                "words": diff_stats(ref.diff),
                "confidence": ref.confidence,
                "seconds_spent": ref.seconds_spent,
                "reviewer": ref.reviewer,
                "simulated": ref.simulated,  # a simulated reviewer answered (an experiment's scripted policy or LLM)
                "arm": ref.arm,  # an assistance experiment's arm: critique_shown, critique_hidden; None outside one
                "created_at": ref.created_at.isoformat(),
            }
        )
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: str | Path | None) -> None:
    """Write rows as JSON lines to a file (atomically) or to stdout."""
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if path is None:
        sys.stdout.write(lines)
        return
    _write_atomically(path, lambda tmp: tmp.write_text(lines, encoding="utf-8"))


def write_csv(rows: list[dict[str, Any]], path: str | Path | None) -> None:
    """Write rows as CSV (header first) to a file (atomically) or to stdout.

    Nested fields (findings, tags, words) are JSON text in their cell; None is an empty cell.
    """
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                         for k, v in row.items()})
    if path is None:
        sys.stdout.write(buffer.getvalue())
        return
    _write_atomically(path, lambda tmp: tmp.write_text(buffer.getvalue(), encoding="utf-8", newline=""))


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows as a Parquet file (atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows) if rows else pa.table({"refinement_id": pa.array([], pa.string())})
    _write_atomically(path, lambda tmp: pq.write_table(table, tmp))


def _write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file beside ``path``, then rename it; an OSError names ``path``."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        write(tmp)
        tmp.replace(target)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
