"""Export refinements, joined with their task, draft and critique, as JSONL or Parquet."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from oversight.refine import diff_stats
from oversight.store import Store

__all__ = ["export_rows", "write_jsonl", "write_parquet"]


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
                "decision": ref.decision,
                "refined_text": ref.refined_text,
                "tags": ref.tags,
                "rationale": ref.rationale,
                "words": diff_stats(ref.diff),
                "confidence": ref.confidence,
                "seconds_spent": ref.seconds_spent,
                "reviewer": ref.reviewer,
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
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(lines, encoding="utf-8")
    tmp.replace(target)


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows as a Parquet file (atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    table = pa.Table.from_pylist(rows) if rows else pa.table({"refinement_id": pa.array([], pa.string())})
    pq.write_table(table, tmp)
    tmp.replace(target)
