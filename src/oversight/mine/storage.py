"""Reading and writing the mine tables: notes, the embedding cache, patterns and runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, insert, select, update

from oversight.mine import tables as mt
from oversight.mine.embed import Embedder, text_hash
from oversight.mine.records import FailureNote, MiningRun, Pattern

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = [
    "embed_notes",
    "latest_run",
    "load_centroids",
    "load_notes",
    "load_patterns",
    "save_notes",
    "save_run",
]

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def save_notes(store: Store, notes: Sequence[FailureNote]) -> tuple[int, int]:
    """Keep notes in one transaction; notes whose id exists are left alone. Returns (added, present)."""
    unique = list({n.id: n for n in notes}.values())
    with store.transaction() as conn:
        existing: set[str] = set()
        for chunk in _chunks([n.id for n in unique]):
            existing.update(conn.scalars(select(mt.failure_notes.c.id).where(mt.failure_notes.c.id.in_(chunk))))
        rows = [
            {
                "id": n.id,
                "source": n.source,
                "refinement_id": n.refinement_id,
                "task_id": n.task_id,
                "external_id": n.external_id,
                "import_source": n.import_source,
                "text_hash": text_hash(n.text),
                "created_at": n.created_at,
                "data": n.model_dump(mode="json"),
            }
            for n in unique
            if n.id not in existing
        ]
        for chunk in _chunks(rows):
            conn.execute(insert(mt.failure_notes), list(chunk))
    return len(rows), len(notes) - len(rows)


def load_notes(store: Store) -> list[FailureNote]:
    """Every failure note, oldest first."""
    query = select(mt.failure_notes.c.data).order_by(mt.failure_notes.c.created_at, mt.failure_notes.c.id)
    with store.engine.connect() as conn:
        return [FailureNote.model_validate(d) for d in conn.scalars(query)]


def refinements_with_notes(store: Store) -> set[str]:
    """Ids of refinements already turned into notes."""
    with store.engine.connect() as conn:
        query = select(mt.failure_notes.c.refinement_id).where(mt.failure_notes.c.refinement_id.is_not(None))
        return set(conn.scalars(query.distinct()))


def embed_notes(store: Store, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """Vectors for texts, computing only those not yet cached for this model."""
    hashes = [text_hash(t) for t in texts]
    wanted = list(dict.fromkeys(hashes))
    cached: dict[str, np.ndarray] = {}
    table = mt.embeddings
    with store.engine.connect() as conn:
        for chunk in _chunks(wanted):
            found = conn.execute(
                select(table.c.text_hash, table.c.vector).where(
                    table.c.model == embedder.name, table.c.text_hash.in_(chunk)
                )
            )
            cached.update({h: np.frombuffer(v, dtype=np.float32) for h, v in found})
    missing = [h for h in wanted if h not in cached]
    if missing:
        first_text = {h: t for h, t in zip(reversed(hashes), reversed(list(texts)), strict=True)}
        vectors = embedder.embed([first_text[h] for h in missing]).astype(np.float32)
        with store.transaction() as conn:
            rows = [
                {"model": embedder.name, "text_hash": h, "dim": int(v.shape[0]), "vector": v.tobytes()}
                for h, v in zip(missing, vectors, strict=True)
            ]
            for chunk in _chunks(rows):
                conn.execute(insert(table), list(chunk))
        cached.update(zip(missing, vectors, strict=True))
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack([cached[h] for h in hashes]).astype(np.float32)


def load_patterns(store: Store, *, include_retired: bool = False) -> list[Pattern]:
    """Patterns, largest first."""
    query = select(mt.patterns.c.data).order_by(mt.patterns.c.size.desc(), mt.patterns.c.id)
    if not include_retired:
        query = query.where(mt.patterns.c.status == "active")
    with store.engine.connect() as conn:
        return [Pattern.model_validate(d) for d in conn.scalars(query)]


def load_centroids(store: Store) -> dict[str, np.ndarray]:
    """Each active pattern's centroid."""
    query = select(mt.patterns.c.id, mt.patterns.c.centroid).where(mt.patterns.c.status == "active")
    with store.engine.connect() as conn:
        return {pid: np.frombuffer(blob, dtype=np.float32) for pid, blob in conn.execute(query)}


def latest_run(store: Store) -> MiningRun | None:
    """The last mining run, or None before the first."""
    query = select(mt.mining_runs.c.data).order_by(mt.mining_runs.c.started_at.desc()).limit(1)
    with store.engine.connect() as conn:
        data = conn.scalar(query)
    return None if data is None else MiningRun.model_validate(data)


def save_run(
    store: Store,
    run: MiningRun,
    patterns: Sequence[Pattern],
    centroids: np.ndarray,
    similarities: Sequence[Sequence[float]],
    themes: list[dict[str, Any]],
) -> None:
    """Write a run whole: its patterns (insert or update), members, and retire the ones not seen."""
    table = mt.patterns
    with store.transaction() as conn:
        present = set(conn.scalars(select(table.c.id)))
        for pattern, centre in zip(patterns, centroids, strict=True):
            row = {
                "name": pattern.name,
                "status": pattern.status,
                "size": pattern.size,
                "prevalence": pattern.stats.prevalence,
                "last_run_id": run.id,
                "centroid": np.asarray(centre, dtype=np.float32).tobytes(),
                "updated_at": pattern.updated_at,
                "data": pattern.model_dump(mode="json"),
            }
            if pattern.id in present:
                conn.execute(update(table).where(table.c.id == pattern.id).values(**row))
            else:
                conn.execute(insert(table).values(id=pattern.id, **row))
        kept = [p.id for p in patterns]
        _retire(conn, [pid for pid in present if pid not in set(kept)], run)
        conn.execute(delete(mt.pattern_members))
        rows = [
            {"pattern_id": p.id, "note_id": nid, "run_id": run.id, "similarity": float(sim)}
            for p, sims in zip(patterns, similarities, strict=True)
            for nid, sim in zip(p.member_ids, sims, strict=True)
        ]
        for chunk in _chunks(rows, 2000):
            conn.execute(insert(mt.pattern_members), list(chunk))
        data = run.model_dump(mode="json")
        data["params"] = {**data["params"], "themes": themes}
        conn.execute(insert(mt.mining_runs).values(id=run.id, started_at=run.started_at, data=data))


def _retire(conn: Any, ids: list[str], run: MiningRun) -> None:
    """Mark patterns that no cluster continued as retired (their history stays)."""
    table = mt.patterns
    for pid in ids:
        data = conn.scalar(select(table.c.data).where(table.c.id == pid))
        if data is None or data.get("status") == "retired":
            continue
        data = {**data, "status": "retired"}
        data["history"] = [*data.get("history", []), {"run_id": run.id, "at": run.started_at.isoformat(),
                                                       "size": 0, "prevalence": 0.0}]
        conn.execute(update(table).where(table.c.id == pid).values(status="retired", size=0, data=data))


def run_themes(run: MiningRun) -> list[dict[str, Any]]:
    """The themes a run recorded."""
    return list(run.params.get("themes", []))
