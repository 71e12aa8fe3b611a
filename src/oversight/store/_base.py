"""Opening a database, migrating it, transactions, and the write helpers every table shares."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote

from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from oversight.errors import StoreError
from oversight.schemas import RoutingRule, utcnow
from oversight.store import tables as t
from oversight.store.migrations import MIGRATIONS, Migration, create_bookkeeping

__all__ = ["StoreBase", "chunks", "database_url", "masked_url", "reconnecting"]

MIGRATION_LOCK = 0x0BE25161  # pg_advisory_xact_lock key: 'oversight migrations'
CHUNK = 500  # ids per IN (...) clause: well under SQLite's and PostgreSQL's parameter limits
_P = ParamSpec("_P")
_R = TypeVar("_R")
RECONNECTS = 2  # a paid answer's write is tried again on a fresh connection this many times


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


_PASSWORD_PARAM = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def masked_url(location: str | Path) -> str:
    """A database location fit to print: any password (``user:PASSWORD@``, ``?password=``) replaced by ***.

    Works on the text, not on a parsed URL, so a URL no parser accepts (a port that is not a
    number, an unescaped @ inside the password) is masked too, and the rest reads as typed.
    """
    text = str(location)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    user_info, password, host = _split_authority(rest)
    if password is not None:
        rest = f"{user_info}:***@{host}"
    return _PASSWORD_PARAM.sub(r"\1***", f"{scheme}://{rest}")


def _split_authority(rest: str) -> tuple[str, str | None, str]:
    """(user, password or None, what follows the last @ of the authority) of a URL after ``://``."""
    query = rest.find("?")
    at = rest.rfind("@", 0, len(rest) if query < 0 else query)
    if at < 0:
        return "", None, rest
    user, colon, password = rest[:at].partition(":")
    return user, (password if colon else None), rest[at + 1 :]


def _secrets(location: str | Path) -> list[str]:
    """The passwords in a location, as typed and URL-decoded, longest first (for scrubbing messages).

    A password with an unescaped @ is misread by drivers as part of the host, so what follows
    each @ in it (``pw@`` of ``s3cret@pw``) is a secret too.
    """
    _, sep, rest = str(location).partition("://")
    if not sep:
        return []
    _, password, _ = _split_authority(rest)
    found = [m.group(2) for m in _PASSWORD_PARAM.finditer(rest)]
    if password:
        found += [password] + [password[i + 1 :] + "@" for i, c in enumerate(password) if c == "@"]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s.strip("@")}, key=len, reverse=True)


def _scrub(message: str, location: str | Path) -> str:
    """``message`` with every password of ``location`` in it replaced by ***."""
    for secret in _secrets(location):
        message = message.replace(secret, "***@" if secret.endswith("@") else "***")
    return message


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """Slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def aware_utc(value: datetime) -> datetime:
    """Aware UTC (SQLite gives back naive datetimes, which are UTC as stored)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def not_gold_copy(task_id: Any, *, but_of: str | None = None) -> Any:
    """A condition on a task id column: not a gold copy (``gold_copies``: a gold item's own task in one
    trainer's queue), or only ``but_of``'s own. Counts and listings of tasks leave every gold copy out;
    a trainer's claims leave out the others' (``but_of``: theirs stays theirs)."""
    g = t.gold_copies
    copies = select(g.c.task_id) if but_of is None else select(g.c.task_id).where(g.c.reviewer != but_of)
    return task_id.not_in(copies)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@functools.cache
def data_of_id(table: Table) -> Any:
    """SELECT data FROM table WHERE id = :id, built (and its cache key made) once per table."""
    return select(table.c.data).where(table.c.id == bindparam("id"))


@functools.cache
def _insert_into(table: Table) -> Any:
    """INSERT INTO table, its values given as parameters: built (and its cache key made) once per table."""
    return insert(table)


def _disconnected(exc: StoreError) -> bool:
    """A write that failed because the server dropped the connection (the pool replaces it)."""
    return isinstance(exc.__cause__, DBAPIError) and exc.__cause__.connection_invalidated


def reconnecting(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A store method that is one transaction (or one read), run again on a fresh connection when the
    server dropped the one it had (a restart, a failover, an operator's pg_terminate_backend): an
    uncommitted transaction is rolled back by the server, so running it again changes nothing twice.
    For the calls a worker makes between its threads (claims, failures, releases)."""
    @functools.wraps(method)
    def again(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(RECONNECTS + 1):
            try:
                return method(*args, **kwargs)
            except StoreError as exc:
                if not _disconnected(exc) or attempt == RECONNECTS:
                    raise
        raise AssertionError("unreachable")

    return again


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


Clock = Callable[[], datetime]  # now, as an aware UTC datetime


ROUTING_DOCUMENT = "routing_rule"  # the documents row the audit writes and the review queue reads


class StoreBase:
    """The engine, migrations and transactions; the record mixins build on these."""

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = location
        self._lock = threading.Lock()
        # The time every lease (review, drafting claim, run lock), web session and calibration serve
        # time is measured by. It is read in Python and passed to SQL (never the database's own now),
        # so SQLite and PostgreSQL agree, and a test moves it instead of sleeping.
        self.clock: Clock = utcnow

    @classmethod
    def open(cls, location: str | Path, *, migrate: bool = True, create: bool = True) -> Any:
        """Open (and by default migrate) the database at a path or URL. Raises StoreError.

        With ``create=False`` a SQLite file that does not exist is an error, not a new database.
        """
        url = database_url(location)
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) != ":memory:":
                if not create and not path.exists():
                    raise StoreError(f"no database at {path} (run `oversight init` to create one)")
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # pre-ping guards against server-side disconnects; a SQLite file has none
            engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _enable_sqlite_pragmas)
            store = cls(engine, str(location))
            if migrate:
                store.migrate()
            return store
        except (SQLAlchemyError, StoreError, ValueError) as exc:  # ValueError: e.g. a port that is not a number
            cause = exc.__cause__ if isinstance(exc, StoreError) else exc
            reason = _reason(cause) if isinstance(cause, SQLAlchemyError) else str(exc)
            raise StoreError(f"cannot open database {masked_url(location)}: {_scrub(reason, location)}") from exc

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self, upto: str | None = None) -> list[str]:
        """Apply the migrations this database lacks; return their names.

        With ``upto`` (a migration's name), only those up to and including it: the database is
        left as a release that ended there made it (tests build older databases so).
        Safe when several workers open a new database at once: on PostgreSQL each step
        holds an advisory lock and re-reads what is applied; on SQLite the write lock
        orders them, and a step another process applied first is skipped.
        """
        names = [name for name, _ in MIGRATIONS]
        if upto is not None and upto not in names:
            raise ValueError(f"no migration named {upto!r} (there are {names[0]} to {names[-1]})")
        steps = MIGRATIONS if upto is None else MIGRATIONS[:names.index(upto) + 1]
        with self._sqlite_migration_lock():
            return self._migrate(steps)

    @contextmanager
    def _sqlite_migration_lock(self) -> Iterator[None]:
        """On a SQLite file, one migrating process at a time (a lock file beside it, like -wal)."""
        database = self.engine.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        import fcntl

        with open(f"{database}-migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _migrate(self, steps: list[tuple[str, Migration]]) -> list[str]:
        if self._up_to_date(steps):  # the common case, every command: one read instead of a transaction per step
            return []
        with self.transaction() as conn:
            self._lock_migrations(conn)
            create_bookkeeping(conn)
        applied = []
        for name, step in steps:
            try:
                with self.transaction() as conn:
                    self._lock_migrations(conn)
                    if conn.scalar(select(t.schema_migrations.c.name).where(t.schema_migrations.c.name == name)):
                        continue
                    step(conn)
                    conn.execute(insert(t.schema_migrations).values(name=name, applied_at=utcnow()))
            except StoreError as exc:
                if not isinstance(exc.__cause__, IntegrityError) or name not in self.applied_migrations():
                    raise
                continue  # another process applied it between our read and our write
            applied.append(name)
        return applied

    def _up_to_date(self, steps: list[tuple[str, Migration]]) -> bool:
        """Every one of these steps is applied already (a step once applied stays applied)."""
        try:
            with self.engine.connect() as conn:
                applied = set(conn.scalars(select(t.schema_migrations.c.name)))
        except SQLAlchemyError:  # no table yet (a new database): migrate
            return False
        return all(name in applied for name, _ in steps)

    def _lock_migrations(self, conn: Connection) -> None:
        if self.dialect == "postgresql":  # one migrator per database at a time, until commit
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})

    def applied_migrations(self) -> list[str]:
        with self.reading() as conn:
            return sorted(conn.scalars(select(t.schema_migrations.c.name)))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: commits on success, rolls back on any error. Raises StoreError."""
        try:
            with self._lock, self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            reason = _scrub(_reason(exc), self.location)
            raise StoreError(f"database write failed ({masked_url(self.location)}): {reason}") from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads. Raises StoreError."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            reason = _scrub(_reason(exc), self.location)
            raise StoreError(f"database read failed ({masked_url(self.location)}): {reason}") from exc

    def count(self, table: str) -> int:
        """Rows in a table."""
        with self.reading() as conn:
            return conn.scalar(select(func.count()).select_from(t.metadata.tables[table])) or 0

    def put_document(self, name: str, data: dict[str, Any]) -> None:
        """Keep a named document (replacing the one of that name)."""
        with self.transaction() as conn:
            conn.execute(t.documents.delete().where(t.documents.c.name == name))
            conn.execute(insert(t.documents).values(name=name, data=data, updated_at=utcnow()))

    def get_document(self, name: str) -> dict[str, Any] | None:
        """A named document, or None."""
        with self.reading() as conn:
            return conn.scalar(select(t.documents.c.data).where(t.documents.c.name == name))

    def save_routing_rule(self, rule: RoutingRule) -> None:
        """Keep the audit's routing rule: the review queue orders and labels items by it from now on."""
        self.put_document(ROUTING_DOCUMENT, rule.model_dump(mode="json"))

    def routing_rule(self) -> RoutingRule | None:
        """The stored routing rule, or None when no audit has kept one."""
        data = self.get_document(ROUTING_DOCUMENT)
        return None if data is None else RoutingRule.model_validate(data)

    # -- helpers the record mixins share -------------------------------------------------

    @staticmethod
    def _insert_missing(
        conn: Connection,
        table: Table,
        rows: Iterable[dict[str, Any]],
        key: str = "id",
        *,
        dedupe: bool = True,
        scope: Any = None,
    ) -> list[dict[str, Any]]:
        """Insert the rows whose key is not in the table yet (within ``scope``, a WHERE clause,
        when the key is only part of the primary key); return the rows inserted.

        With ``dedupe`` the first of several rows with one key wins; without it they reach
        the database, which refuses the batch (the caller's transaction then rolls back).
        """
        unique: list[dict[str, Any]] = list(rows)
        if dedupe:
            first: dict[Any, dict[str, Any]] = {}
            for row in unique:
                first.setdefault(row[key], row)
            unique = list(first.values())
        column = table.c[key]
        existing: set[Any] = set()
        for part in chunks([row[key] for row in unique]):
            query = select(column).where(column.in_(part))
            existing.update(conn.scalars(query if scope is None else query.where(scope)))
        fresh = [row for row in unique if row[key] not in existing]
        for part in chunks(fresh):
            conn.execute(insert(table), list(part))
        return fresh

    def _data_by_id(self, table: Table, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The ``data`` of the rows with these ids (missing ones are absent)."""
        out: list[dict[str, Any]] = []
        wanted = list(set(ids))
        with self.reading() as conn:
            if len(wanted) == 1:  # one record by id (a cache lookup): a statement built once, no IN list
                out.extend(conn.scalars(data_of_id(table), {"id": wanted[0]}))
                return out
            for part in chunks(wanted):
                out.extend(conn.scalars(select(table.c.data).where(table.c.id.in_(part))))
        return out

    # -- caches of paid model answers (edit explanations, note abstractions, judge verdicts) --------

    def _paid_answers(self, table: Table, scope: dict[str, Any], key: str, keys: Iterable[str],
                      value: str) -> dict[str, Any]:
        """Answers already paid for, by ``key`` column, among the rows matching ``scope`` (model, prompt version)."""
        out: dict[str, Any] = {}
        with self.reading() as conn:
            for part in chunks(list(dict.fromkeys(keys))):
                found = conn.execute(select(table.c[key], table.c[value]).where(
                    *(table.c[column] == wanted for column, wanted in scope.items()), table.c[key].in_(part)))
                out.update({k: v for k, v in found})
        return out

    def _keep_paid_answer(self, table: Table, scope: dict[str, Any], key: str, key_value: str, value: str,
                          answer: Any) -> Any:
        """Keep one paid answer in its own transaction; return the one kept: another run's, if it kept one first."""
        try:
            with self.transaction() as conn:
                conn.execute(insert(table).values(**scope, **{key: key_value, value: answer}, created_at=utcnow()))
            return answer
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        return self._paid_answers(table, scope, key, [key_value], value).get(key_value, answer)

    def _insert_once(self, table: Table, row: dict[str, Any], after: Any = None) -> dict[str, Any] | None:
        """Insert a row and return None; if its id exists (a re-run, or a concurrent writer won),
        return the stored data instead.

        ``after(conn)`` runs in the same transaction as a successful insert, and alone if the
        row was already there. The row is usually a paid model answer: a connection the server
        dropped meanwhile (a restart, a failover) is replaced and the write tried again, so the
        answer is not lost and paid for twice.
        """
        for attempt in range(1, RECONNECTS + 2):
            try:
                with self.transaction() as conn:
                    conn.execute(_insert_into(table), row)  # the row as parameters: no bound value built per column
                    if after is not None:
                        after(conn)
                    return None
            except StoreError as exc:
                if isinstance(exc.__cause__, IntegrityError):
                    break
                if not _disconnected(exc) or attempt > RECONNECTS:
                    raise
        if after is not None:
            with self.transaction() as conn:
                after(conn)
        with self.reading() as conn:
            return conn.scalar(select(table.c.data).where(table.c.id == row["id"]))
