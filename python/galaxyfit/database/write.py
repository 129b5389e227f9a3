"""Writing fit rows (``scrape.FitRows``) into the results database: bulk statements (executemany), one
transaction per batch, so a fit is stored whole or not at all and 10^5 fits insert in seconds, not hours."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from galaxyfit.database.connection import DatabaseError, describe, reason
from galaxyfit.database.schema import CHILD_TABLES, Component, Document, Figure, Fit, Latent, Parameter, PathName

#: Identifiers per ``IN (...)`` list: well inside SQLite's limit on bound parameters.
_CHUNK = 500

#: After a write of this many parameter rows the planner's statistics are refreshed (PostgreSQL may otherwise
#: plan the first queries on an empty table's statistics: sequential scans instead of the index).
_ANALYZE_AFTER_ROWS = 20_000

#: Attempts at a batch that collides with another writer inserting the same identifiers or paths.
_ATTEMPTS = 3


def known_signatures(engine) -> dict[str, tuple[str, str]]:
    """``{folder: (identifier, signature)}`` of every stored fit."""
    fit = Fit.__table__
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(fit.c.folder, fit.c.identifier, fit.c.signature)).all()
    except DBAPIError as exc:
        raise DatabaseError(f"cannot read {describe(engine)}: {reason(exc)}") from None
    return {folder: (identifier, signature) for folder, identifier, signature in rows}


def write_fits(engine, rows, *, batch_size: int = 1000, analyze_after: bool = True) -> tuple[list[str], list[str]]:
    """Insert or replace (matched by identifier) the fits ``rows`` (a list of ``FitRows``); return the identifiers
    ``(added, updated)``. Each batch of ``batch_size`` fits is one transaction. With ``analyze_after``, a large
    write ends by refreshing the planner's statistics (:func:`analyze_if_large`).

    Raises DatabaseError naming the database and the reason when a batch cannot be written (that batch leaves
    nothing behind; earlier batches stay)."""
    added, updated = [], []
    written = 0
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        for attempt in range(_ATTEMPTS):
            try:
                new, old = _write_batch(engine, batch)
                break
            except (DBAPIError, engine.dialect.loaded_dbapi.Error) as exc:  # the latter from COPY, below SQLAlchemy
                # Another writer inserted one of these identifiers or paths since this batch looked, or the server
                # broke a deadlock between two writers: the batch was rolled back whole; look again.
                if not _collided(exc) or attempt == _ATTEMPTS - 1:
                    raise DatabaseError(f"cannot write to {describe(engine)}: {reason(exc)}") from None
        added += new
        updated += old
        written += sum(len(r.parameters) + len(r.latents) for r in batch)
    if analyze_after:
        analyze_if_large(engine, written)
    return added, updated


def analyze_if_large(engine, rows_written: int) -> None:
    """:func:`analyze` after a write of many parameter and latent rows (a few fits change no plan)."""
    if rows_written >= _ANALYZE_AFTER_ROWS:
        analyze(engine)


def _collided(exc) -> bool:
    """Whether ``exc`` is a collision with a concurrent writer (worth retrying), not a fault of the data or server."""
    original = getattr(exc, "orig", None) or exc
    if isinstance(exc, IntegrityError) or type(original).__name__ in ("IntegrityError", "UniqueViolation"):
        return True
    return getattr(original, "sqlstate", None) in ("40001", "40P01")  # serialization failure, deadlock


def analyze(engine) -> None:
    """Refresh the query planner's statistics (both databases sample rather than read every row); on PostgreSQL
    also VACUUM, which marks the new pages all-visible so a filter reads the covering index alone (an index-only
    scan) instead of visiting every matching row in the table."""
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:  # VACUUM cannot run in a transaction
                connection.exec_driver_sql("VACUUM ANALYZE fit, parameter, latent, component")
        else:
            with engine.begin() as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
                connection.exec_driver_sql("ANALYZE")
    except DBAPIError as exc:
        raise DatabaseError(f"cannot analyze {describe(engine)}: {reason(exc)}") from None


def _write_batch(engine, batch) -> tuple[list[str], list[str]]:
    fit = Fit.__table__
    with engine.begin() as connection:
        paths = {row[0] for fit_rows in batch for row in (*fit_rows.parameters, *fit_rows.latents, *fit_rows.components)}
        path_ids = _path_ids(connection, sorted(paths))
        # Locked (PostgreSQL; SQLite has one writer at a time anyway) so two writers replacing one fit take turns:
        # otherwise the second one's delete misses the first one's new rows and its insert collides with them.
        ids = _ids_by_identifier(connection, sorted(r.identifier for r in batch), lock=True)
        old = [r for r in batch if r.identifier in ids]
        new = [r for r in batch if r.identifier not in ids]
        if old:
            replaced = [ids[r.identifier] for r in old]
            for table in CHILD_TABLES:
                for chunk in _chunks(replaced):
                    connection.execute(sa.delete(table).where(table.c.fit_id.in_(chunk)))
            # executemany: the SET clause is every key of the parameter dicts but the bound "_id"
            connection.execute(sa.update(fit).where(fit.c.id == sa.bindparam("_id")),
                               [{**r.fit, "_id": ids[r.identifier]} for r in old])
        if new:
            connection.execute(sa.insert(fit), [r.fit for r in new])
            ids.update(_ids_by_identifier(connection, [r.identifier for r in new]))
        _insert_children(connection, batch, ids, path_ids)
    return [r.identifier for r in new], [r.identifier for r in old]


def _insert_children(connection, batch, ids: dict[str, int], path_ids: dict[str, int]) -> None:
    quantities, latents, components, figures, documents = [], [], [], [], []
    for r in batch:
        fit_id = ids[r.identifier]
        quantities += [(fit_id, path_ids[path], *values) for path, *values in r.parameters]
        latents += [(fit_id, path_ids[path], *values) for path, *values in r.latents]
        components += [(fit_id, path_ids[path], cls, bool(free)) for path, cls, free in r.components]
        figures += [(fit_id, name, path) for name, path in r.figures]
        documents += [(fit_id, name, text) for name, text in r.documents.items()]
    for table, rows in ((Parameter, quantities), (Latent, latents), (Component, components), (Figure, figures), (Document, documents)):
        if rows:
            _insert_tuples(connection, table.__table__, rows)


def _insert_tuples(connection, table, rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the table's column order) by the fastest route the driver has: PostgreSQL's COPY
    (~20x faster than executemany), the driver's executemany for SQLite (skipping SQLAlchemy's per-row work, which
    cost more than SQLite's own), SQLAlchemy's executemany elsewhere."""
    columns = [c.name for c in table.columns]
    dialect = connection.dialect.name
    if dialect == "postgresql" and connection.dialect.driver == "psycopg":
        driver = connection.connection.driver_connection  # the same connection, inside this transaction
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    else:
        connection.execute(sa.insert(table), [dict(zip(columns, row)) for row in rows])


def _ids_by_identifier(connection, identifiers, lock: bool = False) -> dict[str, int]:
    fit = Fit.__table__
    ids = {}
    for chunk in _chunks(identifiers):
        statement = sa.select(fit.c.identifier, fit.c.id).where(fit.c.identifier.in_(chunk))
        if lock:
            statement = statement.order_by(fit.c.identifier).with_for_update()
        ids.update(connection.execute(statement).all())
    return ids


def _path_ids(connection, paths) -> dict[str, int]:
    """``{path: id}``, inserting the paths not yet stored (a concurrent writer's same insert is ignored)."""
    table = PathName.__table__
    found = {}
    for chunk in _chunks(paths):
        found.update(connection.execute(sa.select(table.c.path, table.c.id).where(table.c.path.in_(chunk))).all())
    missing = [p for p in paths if p not in found]
    if missing:
        connection.execute(_insert_ignoring_duplicates(connection, table), [{"path": p} for p in missing])
        for chunk in _chunks(missing):
            found.update(connection.execute(sa.select(table.c.path, table.c.id).where(table.c.path.in_(chunk))).all())
    return found


def _insert_ignoring_duplicates(connection, table):
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert(table).on_conflict_do_nothing(index_elements=["path"])
    if connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        return insert(table).on_conflict_do_nothing(index_elements=["path"])
    return sa.insert(table)


def _chunks(items, size: int = _CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]
