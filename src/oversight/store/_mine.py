"""Failure notes, the embedding and edit-explanation caches, patterns, their members and mining runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, or_, select, update

from oversight.schemas import FailureNote, MiningRun, Pattern, text_hash
from oversight.store import tables as t
from oversight.store._base import StoreBase, chunks

__all__ = ["MineRecords"]


class MineRecords(StoreBase):
    """What mining reads and writes."""

    def save_notes(self, notes: Sequence[FailureNote]) -> tuple[int, int]:
        """Keep notes in one transaction; notes whose id exists are left alone. Returns (added, present)."""
        rows = [
            {"id": n.id, "source": n.source, "refinement_id": n.refinement_id, "task_id": n.task_id,
             "external_id": n.external_id, "import_source": n.import_source, "text_hash": text_hash(n.text),
             "created_at": n.created_at, "data": n.model_dump(mode="json")}
            for n in notes
        ]
        with self.transaction() as conn:
            added = len(self._insert_missing(conn, t.failure_notes, rows))
        return added, len(notes) - added

    def notes(self, *, reviewers: Collection[str] | None = None) -> list[FailureNote]:
        """Every failure note, oldest first; with ``reviewers``, of refinements only those these
        reviewers made (notes that no refinement gave, such as imported ones, are all kept)."""
        n, r = t.failure_notes, t.refinements
        query = select(n.c.data).order_by(n.c.created_at, n.c.id)
        if reviewers is not None:
            by_them = select(r.c.id).where(r.c.reviewer.in_(sorted(reviewers)))
            query = query.where(or_(n.c.refinement_id.is_(None), n.c.refinement_id.in_(by_them)))
        with self.reading() as conn:
            return [FailureNote.model_validate(d) for d in conn.scalars(query)]

    def refinements_with_notes(self) -> set[str]:
        """Ids of refinements already turned into notes."""
        column = t.failure_notes.c.refinement_id
        with self.reading() as conn:
            return set(conn.scalars(select(column).where(column.is_not(None)).distinct()))

    # -- the embedding cache ---------------------------------------------------------

    def cached_vectors(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already computed by this model, by text hash."""
        e = t.embeddings
        out: dict[str, np.ndarray] = {}
        with self.reading() as conn:
            for part in chunks(list(dict.fromkeys(hashes))):
                found = conn.execute(select(e.c.text_hash, e.c.vector).where(e.c.model == model, e.c.text_hash.in_(part)))
                out.update({h: np.frombuffer(v, dtype=np.float32) for h, v in found})
        return out

    def cache_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> int:
        """Keep vectors by text hash (ones already cached are left alone); return how many were added."""
        rows = [{"model": model, "text_hash": h, "dim": int(v.shape[0]), "vector": np.asarray(v, np.float32).tobytes()}
                for h, v in vectors.items()]
        with self.transaction() as conn:
            return len(self._insert_missing(conn, t.embeddings, rows, "text_hash", scope=t.embeddings.c.model == model))

    # -- the edit-explanation cache -------------------------------------------------

    def edit_explanations(
        self, model: str, prompt_version: str, draft_hash: str, edit_hashes: Iterable[str]
    ) -> dict[str, str]:
        """Sentences a model already wrote with this prompt version for edits of this draft, by edit hash."""
        scope = {"model": model, "prompt_version": prompt_version, "draft_hash": draft_hash}
        return self._paid_answers(t.edit_explanations, scope, "edit_hash", edit_hashes, "sentence")

    def save_edit_explanation(
        self, model: str, prompt_version: str, draft_hash: str, edit_hash: str, sentence: str
    ) -> str:
        """Keep one paid sentence (its own transaction); return the sentence kept.

        When another run kept one for the same key first, that one stays and is returned.
        """
        scope = {"model": model, "prompt_version": prompt_version, "draft_hash": draft_hash}
        return self._keep_paid_answer(t.edit_explanations, scope, "edit_hash", edit_hash, "sentence", sentence)

    def note_abstractions(self, model: str, prompt_version: str, text_hashes: Iterable[str]) -> dict[str, str]:
        """Topic-free restatements a model already wrote with this prompt version, by note text hash."""
        scope = {"model": model, "prompt_version": prompt_version}
        return self._paid_answers(t.note_abstractions, scope, "text_hash", text_hashes, "statement")

    def save_note_abstraction(self, model: str, prompt_version: str, text_hash: str, statement: str) -> str:
        """Keep one paid restatement (its own transaction); return the one kept (another run's, if first)."""
        scope = {"model": model, "prompt_version": prompt_version}
        return self._keep_paid_answer(t.note_abstractions, scope, "text_hash", text_hash, "statement", statement)

    # -- patterns and runs -----------------------------------------------------------

    def patterns(self, *, include_retired: bool = False) -> list[Pattern]:
        """Patterns, largest first."""
        query = select(t.patterns.c.data).order_by(t.patterns.c.size.desc(), t.patterns.c.id)
        if not include_retired:
            query = query.where(t.patterns.c.status == "active")
        with self.reading() as conn:
            return [Pattern.model_validate(d) for d in conn.scalars(query)]

    def pattern_names(self) -> dict[str, str]:
        """Each active pattern's name by id, largest first (for pickers on the review page)."""
        query = (select(t.patterns.c.id, t.patterns.c.name).where(t.patterns.c.status == "active")
                 .order_by(t.patterns.c.size.desc(), t.patterns.c.id))
        with self.reading() as conn:
            return {pid: name for pid, name in conn.execute(query)}

    def tag_counts(self, *, recent: int = 5000) -> list[str]:
        """The failure tags of the last ``recent`` refinements, commonest first (the project's taxonomy in use)."""
        query = select(t.refinements.c.data).order_by(t.refinements.c.created_at.desc()).limit(recent)
        counts: Counter[str] = Counter()
        with self.reading() as conn:
            for data in conn.scalars(query):
                counts.update(data.get("tags") or [])
        return [tag for tag, _ in counts.most_common()]

    def centroids(self) -> dict[str, np.ndarray]:
        """Each active pattern's centroid."""
        query = select(t.patterns.c.id, t.patterns.c.centroid).where(t.patterns.c.status == "active")
        with self.reading() as conn:
            return {pid: np.frombuffer(blob, dtype=np.float32) for pid, blob in conn.execute(query)}

    def latest_run(self) -> MiningRun | None:
        """The last mining run, or None before the first."""
        query = select(t.mining_runs.c.data).order_by(t.mining_runs.c.started_at.desc()).limit(1)
        with self.reading() as conn:
            data = conn.scalar(query)
        return None if data is None else MiningRun.model_validate(data)

    def save_run(
        self,
        run: MiningRun,
        patterns: Sequence[Pattern],
        centroids: np.ndarray,
        similarities: Sequence[Sequence[float]],
        themes: list[dict[str, Any]],
    ) -> None:
        """Write a run whole: its patterns (insert or update), members, and retire the ones not seen."""
        table = t.patterns
        with self.transaction() as conn:
            present = set(conn.scalars(select(table.c.id)))
            for pattern, centre in zip(patterns, centroids, strict=True):
                row = {"name": pattern.name, "status": pattern.status, "size": pattern.size,
                       "prevalence": pattern.stats.prevalence, "last_run_id": run.id,
                       "centroid": np.asarray(centre, dtype=np.float32).tobytes(),
                       "updated_at": pattern.updated_at, "data": pattern.model_dump(mode="json")}
                if pattern.id in present:
                    conn.execute(update(table).where(table.c.id == pattern.id).values(**row))
                else:
                    conn.execute(insert(table).values(id=pattern.id, **row))
            kept = {p.id for p in patterns}
            self._retire(conn, [pid for pid in present if pid not in kept], run)
            conn.execute(delete(t.pattern_members))
            rows = [
                {"pattern_id": p.id, "note_id": nid, "run_id": run.id, "similarity": float(sim)}
                for p, sims in zip(patterns, similarities, strict=True)
                for nid, sim in zip(p.member_ids, sims, strict=True)
            ]
            for part in chunks(rows, 2000):
                conn.execute(insert(t.pattern_members), list(part))
            data = run.model_dump(mode="json")
            data["params"] = {**data["params"], "themes": themes}
            conn.execute(insert(t.mining_runs).values(id=run.id, started_at=run.started_at, data=data))

    @staticmethod
    def _retire(conn: Connection, ids: list[str], run: MiningRun) -> None:
        """Mark patterns that no cluster continued as retired (their history stays)."""
        table = t.patterns
        for pid in ids:
            data = conn.scalar(select(table.c.data).where(table.c.id == pid))
            if data is None or data.get("status") == "retired":
                continue
            data = {**data, "status": "retired"}
            data["history"] = [*data.get("history", []), {"run_id": run.id, "at": run.started_at.isoformat(),
                                                           "size": 0, "prevalence": 0.0}]
            conn.execute(update(table).where(table.c.id == pid).values(status="retired", size=0, data=data))
