"""What a database's schema is, as the dialect reports it, and older databases built by the real
migrations (for the tests of a migration and of the schema it leaves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, insert, inspect, select

from oversight.store import Store, database_url
from oversight.store import tables as t


def schema(url: str) -> dict[str, dict[str, Any]]:
    """Every table of the database at ``url``: its columns (type, nullability, server default), primary
    key, indexes, unique constraints, foreign keys and check constraints, as its dialect reflects them."""
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            out = {}
            for name in sorted(inspector.get_table_names()):
                pk = inspector.get_pk_constraint(name)
                out[name] = {
                    "columns": {c["name"]: (str(c["type"]), c["nullable"], c.get("default"))
                                for c in inspector.get_columns(name)},
                    "primary key": (pk.get("name"), tuple(pk["constrained_columns"])),
                    "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                      for i in inspector.get_indexes(name)),
                    "unique": sorted((u["name"], tuple(u["column_names"]))
                                     for u in inspector.get_unique_constraints(name)),
                    "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                            tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(name)),
                    "checks": sorted((c.get("name") or "", c["sqltext"]) for c in inspector.get_check_constraints(name)),
                }
            return out
    finally:
        engine.dispose()


def queried_schema(url: str) -> dict[str, dict[str, Any]]:
    """The schema of ``store.tables`` (what the queries read), created whole in the empty database at ``url``."""
    engine = create_engine(database_url(url))
    try:
        t.metadata.create_all(engine)
    finally:
        engine.dispose()
    return schema(url)


def differences(found: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]) -> list[str]:
    """Where ``found`` differs from ``wanted``, one line each (none: the same schema)."""
    out = [f"table {name}: {'missing' if name in wanted else 'not in store.tables'}"
           for name in sorted(set(found) ^ set(wanted))]
    for name in sorted(set(found) & set(wanted)):
        for part, want in wanted[name].items():
            have = found[name][part]
            if part == "columns":
                out += [f"{name}.{column}: {have.get(column, 'missing')} (store.tables: {want.get(column, 'none')})"
                        for column in sorted(set(have) | set(want)) if have.get(column) != want.get(column)]
            elif have != want:
                out.append(f"{name} {part}: {have} (store.tables: {want})")
    return out


def older_copy(source: Store, url: str, upto: str) -> Store:
    """A database at ``url`` as a release whose last migration was ``upto`` made it, holding the rows of
    ``source`` (each with the columns that release had); open and not migrated further."""
    older = Store.open(url, migrate=False)
    older.migrate(upto=upto)
    with older.reading() as conn:
        present = {name: {c["name"] for c in inspect(conn).get_columns(name)}
                   for name in inspect(conn).get_table_names()}
    with source.reading() as read, older.transaction() as write:
        for name, table in t.metadata.tables.items():
            if name in present and name != "schema_migrations":
                rows = [{k: v for k, v in row._mapping.items() if k in present[name]}
                        for row in read.execute(select(table))]
                if rows:
                    write.execute(insert(table), rows)
    return older
