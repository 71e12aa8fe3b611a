"""The store: one code path over SQLite (default) and PostgreSQL, via SQLAlchemy 2 Core."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from oversight.errors import NotFoundError, StoreError
from oversight.schemas import Critique, Draft, Refinement, Task, utcnow
from oversight.store import tables as t
from oversight.store.migrations import MIGRATIONS

__all__ = ["Store", "database_url", "TASK_STATES"]

TASK_STATES = ("pending", "drafted", "awaiting_review", "refined", "skipped")


def database_url(location: str | Path) -> str:
    """Turn a file path or a database URL into a SQLAlchemy URL.

    ``postgresql://`` and ``postgres://`` URLs use the psycopg 3 driver.
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser()}"


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """Records of the refine loop in a relational database.

    Every public write is one transaction: it lands whole or not at all.
    """

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = location
        self._lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, location: str | Path, *, migrate: bool = True) -> Store:
        """Open (and by default migrate) the database at a path or URL. Raises StoreError."""
        url = database_url(location)
        try:
            if url.startswith("sqlite:///"):
                path = Path(url.removeprefix("sqlite:///"))
                if str(path) != ":memory:":
                    path.parent.mkdir(parents=True, exist_ok=True)
            # pre-ping guards against server-side disconnects; a SQLite file has none
            engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _enable_sqlite_pragmas)
            store = cls(engine, str(location))
            if migrate:
                store.migrate()
            return store
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {location}: {_reason(exc)}") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks; return their names."""
        with self.engine.begin() as conn:
            t.schema_migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(t.schema_migrations.c.name)))
        applied = []
        for name, migration in MIGRATIONS:
            if name in done:
                continue
            with self.engine.begin() as conn:
                migration(conn)
                conn.execute(insert(t.schema_migrations).values(name=name, applied_at=utcnow()))
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(conn.scalars(select(t.schema_migrations.c.name)))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: commits on success, rolls back on any error."""
        try:
            with self._lock, self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed ({self.location}): {_reason(exc)}") from exc

    # -- tasks -----------------------------------------------------------------------

    def add_tasks(self, tasks: Iterable[Task], *, source: str | None = None) -> tuple[int, int]:
        """Insert tasks in one transaction; tasks whose id exists are left alone.

        Returns (added, already_present).
        """
        tasks = list(tasks)
        added = 0
        with self.transaction() as conn:
            existing: set[str] = set()
            ids = [task.id for task in tasks]
            for chunk in _chunks(ids, 500):
                existing.update(conn.scalars(select(t.tasks.c.id).where(t.tasks.c.id.in_(chunk))))
            rows = [
                {
                    "id": task.id,
                    "domain": task.domain,
                    "kind": task.kind,
                    "source": source,
                    "created_at": task.created_at,
                    "data": task.model_dump(mode="json"),
                }
                for task in tasks
                if task.id not in existing
            ]
            if rows:
                conn.execute(insert(t.tasks), rows)
                added = len(rows)
        return added, len(tasks) - added

    def get_task(self, task_id: str) -> Task:
        """The task with this id. Raises NotFoundError."""
        with self.engine.connect() as conn:
            data = conn.scalar(select(t.tasks.c.data).where(t.tasks.c.id == task_id))
        if data is None:
            raise NotFoundError(f"no task with id {task_id!r}")
        return Task.model_validate(data)

    def tasks(self, ids: Iterable[str] | None = None) -> list[Task]:
        """All tasks (or those with the given ids), oldest first."""
        query = select(t.tasks.c.data).order_by(t.tasks.c.created_at, t.tasks.c.id)
        with self.engine.connect() as conn:
            if ids is None:
                return [Task.model_validate(d) for d in conn.scalars(query)]
            out: list[Task] = []
            for chunk in _chunks(list(ids), 500):
                out.extend(Task.model_validate(d) for d in conn.scalars(query.where(t.tasks.c.id.in_(chunk))))
            return out

    def task_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(t.tasks.c.id).order_by(t.tasks.c.created_at, t.tasks.c.id)))

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(t.metadata.tables[table])) or 0

    # -- drafts and critiques --------------------------------------------------------

    def get_draft(self, draft_id: str) -> Draft | None:
        with self.engine.connect() as conn:
            data = conn.scalar(select(t.drafts.c.data).where(t.drafts.c.id == draft_id))
        return None if data is None else Draft.model_validate(data)

    def save_draft(self, draft: Draft) -> Draft:
        """Keep a draft. If one with the same id exists, keep and return that one."""
        row = {
            "id": draft.id,
            "task_id": draft.task_id,
            "model": draft.model,
            "prompt_version": draft.prompt_version,
            "created_at": draft.created_at,
            "data": draft.model_dump(mode="json"),
        }
        return self._insert_once(t.drafts, row, Draft, draft)

    def drafts_for_task(self, task_id: str) -> list[Draft]:
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(t.drafts.c.data).where(t.drafts.c.task_id == task_id).order_by(t.drafts.c.created_at)
            )
            return [Draft.model_validate(d) for d in rows]

    def get_critique(self, critique_id: str) -> Critique | None:
        with self.engine.connect() as conn:
            data = conn.scalar(select(t.critiques.c.data).where(t.critiques.c.id == critique_id))
        return None if data is None else Critique.model_validate(data)

    def save_critique(self, critique: Critique, *, thread_id: str | None = None) -> Critique:
        """Keep a critique (and mark its thread awaiting review) in one transaction.

        If a critique with the same id exists, keep and return that one.
        """
        row = {
            "id": critique.id,
            "draft_id": critique.draft_id,
            "task_id": critique.task_id,
            "model": critique.model,
            "created_at": critique.created_at,
            "data": critique.model_dump(mode="json"),
        }
        awaiting = None
        if thread_id is not None:
            awaiting = (thread_id, critique.task_id, "awaiting_review", critique.draft_id, critique.id)
        return self._insert_once(t.critiques, row, Critique, critique, thread=awaiting)

    def _insert_once(
        self, table: Any, row: dict[str, Any], model: Any, record: Any, *, thread: tuple[str, ...] | None = None
    ) -> Any:
        # Insert first: the usual case is a new record, one statement. If the id exists
        # (a re-run, or a concurrent writer won), keep and return the stored one.
        try:
            with self.transaction() as conn:
                conn.execute(insert(table).values(**row))
                if thread is not None:
                    thread_id, task_id, status, draft_id, critique_id = thread
                    self._set_thread(conn, thread_id, task_id, status, draft_id=draft_id, critique_id=critique_id)
                return record
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        if thread is not None:
            thread_id, task_id, status, draft_id, critique_id = thread
            self.set_thread(thread_id, task_id, status, draft_id=draft_id, critique_id=critique_id)
        with self.engine.connect() as conn:
            return model.model_validate(conn.scalar(select(table.c.data).where(table.c.id == row["id"])))

    # -- refinements -----------------------------------------------------------------

    def save_refinement(self, refinement: Refinement, *, thread_id: str | None = None) -> Refinement:
        """Keep a refinement (and mark its thread done) in one transaction.

        Saving the same refinement id twice keeps the first, so a resumed graph that
        re-runs its record step does not double count.
        """
        with self.transaction() as conn:
            existing = conn.scalar(select(t.refinements.c.data).where(t.refinements.c.id == refinement.id))
            if existing is not None:
                return Refinement.model_validate(existing)
            conn.execute(
                insert(t.refinements).values(
                    id=refinement.id,
                    task_id=refinement.task_id,
                    draft_id=refinement.draft_id,
                    decision=refinement.decision,
                    reviewer=refinement.reviewer,
                    seconds_spent=refinement.seconds_spent,
                    created_at=refinement.created_at,
                    data=refinement.model_dump(mode="json"),
                )
            )
            if thread_id is not None:
                self._set_thread(conn, thread_id, refinement.task_id, "done")
        return refinement

    def refinements(self, *, since: datetime | None = None) -> list[Refinement]:
        """All refinements, oldest first."""
        query = select(t.refinements.c.data).order_by(t.refinements.c.created_at, t.refinements.c.id)
        if since is not None:
            query = query.where(t.refinements.c.created_at >= since)
        with self.engine.connect() as conn:
            return [Refinement.model_validate(d) for d in conn.scalars(query)]

    # -- refine threads --------------------------------------------------------------

    def set_thread(
        self,
        thread_id: str,
        task_id: str,
        status: str,
        *,
        draft_id: str | None = None,
        critique_id: str | None = None,
    ) -> None:
        """Record where a refine thread stands (insert or update)."""
        with self.transaction() as conn:
            self._set_thread(conn, thread_id, task_id, status, draft_id=draft_id, critique_id=critique_id)

    @staticmethod
    def _set_thread(
        conn: Connection,
        thread_id: str,
        task_id: str,
        status: str,
        *,
        draft_id: str | None = None,
        critique_id: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if draft_id is not None:
            values["draft_id"] = draft_id
        if critique_id is not None:
            values["critique_id"] = critique_id
        result = conn.execute(
            update(t.refine_threads).where(t.refine_threads.c.thread_id == thread_id).values(**values)
        )
        if result.rowcount == 0:
            conn.execute(insert(t.refine_threads).values(thread_id=thread_id, task_id=task_id, **values))

    def threads(self, status: str | None = None) -> list[dict[str, Any]]:
        """Refine threads, oldest first, optionally only those with a status."""
        query = select(t.refine_threads).order_by(t.refine_threads.c.updated_at, t.refine_threads.c.thread_id)
        if status is not None:
            query = query.where(t.refine_threads.c.status == status)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.refine_threads).where(t.refine_threads.c.thread_id == thread_id)).first()
        return None if row is None else dict(row._mapping)

    # -- status ----------------------------------------------------------------------

    def task_states(self) -> dict[str, str]:
        """Each task's state: pending, drafted, awaiting_review, refined or skipped."""
        with self.engine.connect() as conn:
            ids = list(conn.scalars(select(t.tasks.c.id)))
            drafted = set(conn.scalars(select(t.drafts.c.task_id).distinct()))
            critiqued = set(conn.scalars(select(t.critiques.c.task_id).distinct()))
            decisions: dict[str, set[str]] = {}
            for task_id, decision in conn.execute(select(t.refinements.c.task_id, t.refinements.c.decision)):
                decisions.setdefault(task_id, set()).add(decision)
        states = {}
        for task_id in ids:
            made = decisions.get(task_id, set())
            if made - {"skip"}:
                states[task_id] = "refined"
            elif made:
                states[task_id] = "skipped"
            elif task_id in critiqued:
                states[task_id] = "awaiting_review"
            elif task_id in drafted:
                states[task_id] = "drafted"
            else:
                states[task_id] = "pending"
        return states

    def status(self) -> dict[str, Any]:
        """Counts by state, plus totals of what was spent."""
        states = Counter(self.task_states().values())
        with self.engine.connect() as conn:
            draft_data = list(conn.scalars(select(t.drafts.c.data)))
            critique_data = list(conn.scalars(select(t.critiques.c.data)))
        cost = sum((d.get("usage") or {}).get("cost_usd", 0.0) for d in draft_data + critique_data)
        tokens = sum(
            (d.get("usage") or {}).get("prompt_tokens", 0) + (d.get("usage") or {}).get("completion_tokens", 0)
            for d in draft_data + critique_data
        )
        return {
            "tasks": sum(states.values()),
            "states": {state: states.get(state, 0) for state in TASK_STATES},
            "drafts": len(draft_data),
            "critiques": len(critique_data),
            "refinements": self.count("refinements"),
            "tokens": tokens,
            "cost_usd": round(cost, 6),
        }


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
