"""Opening a results database: a SQLite file by default, a PostgreSQL server by URL.

Every failure to reach the database becomes a :class:`DatabaseError` that names the URL (password masked) and the
reason, instead of a driver traceback.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from galaxyfit.errors import GalaxyfitError

#: Bumped when the tables change in a way an older galaxyfit cannot read.
SCHEMA_VERSION = 1

#: Seconds a connection waits: for a SQLite lock held by another writer, or for a PostgreSQL server to answer.
SQLITE_BUSY_TIMEOUT_S = 15
POSTGRESQL_CONNECT_TIMEOUT_S = 10


class DatabaseError(GalaxyfitError):
    """A results database that cannot be opened, read or written: a URL that cannot connect, a SQLite file in a
    missing or read-only folder, a file that is not a database, a database written by a newer galaxyfit. The message
    names the URL (password masked) and the reason."""


def database_url(url_or_path) -> URL:
    """The SQLAlchemy URL of ``url_or_path``: a file path (str or Path) or ``sqlite:///...`` is a SQLite file;
    ``postgresql://`` and ``postgres://`` are served by psycopg 3 (``postgresql+psycopg://``).

    Raises DatabaseError for text that is neither a path nor a URL SQLAlchemy understands."""
    if isinstance(url_or_path, URL):
        url = url_or_path
    elif isinstance(url_or_path, os.PathLike) or "://" not in str(url_or_path):
        text = os.fspath(url_or_path)
        if not text.strip():
            raise DatabaseError("empty database path")
        return URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
    else:
        try:
            url = make_url(str(url_or_path))
            url.port  # noqa: B018  (parsed lazily: a bad port would otherwise fail later, unexplained)
        except (ArgumentError, ValueError) as exc:
            raise DatabaseError(f"{mask_password(str(url_or_path))}: not a database URL ({exc})") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not SQLAlchemy's default psycopg2
    return url


def mask_password(url) -> str:
    """``url`` as text with any password replaced by ``***``."""
    try:
        return (url if isinstance(url, URL) else make_url(str(url))).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        text = str(url)  # unparsable (e.g. a bad port): mask what sits between "user:" and "@" by hand
        scheme, _, rest = text.partition("://")
        credentials, at, host = rest.rpartition("@")
        if at and ":" in credentials:
            return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
        return text


def describe(engine_or_url) -> str:
    """The masked URL of an engine or URL, for messages."""
    return mask_password(engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url)


def open_database(url_or_path, *, create: bool = True) -> Engine:
    """An engine on the results database at ``url_or_path`` (see :func:`database_url`), its tables created if
    ``create``.

    A reader passes ``create=False``: a missing SQLite file or a database without galaxyfit's tables is then an
    error rather than a new empty database (a typo would otherwise read as "no fits").

    Raises DatabaseError naming the masked URL and why: the SQLite file's folder missing or not writable, the server
    refusing or not answering, a file that is not a SQLite database, a schema from a newer galaxyfit."""
    url = database_url(url_or_path)
    shown = mask_password(url)
    if url.get_backend_name() == "sqlite":
        _check_sqlite_path(url, shown, create)
    try:
        engine = sa.create_engine(url, **_engine_options(url))
    except (NoSuchModuleError, ImportError) as exc:
        hint = " (install it with: pip install 'galaxyfit[postgresql]')" if url.get_backend_name() == "postgresql" else ""
        raise DatabaseError(f"{shown}: no database driver for {url.drivername!r}{hint}: {exc}") from None
    except (ArgumentError, SQLAlchemyError) as exc:
        raise DatabaseError(f"{shown}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_on_connect)
    try:
        _prepare(engine, create)
    except DatabaseError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot use the database {shown}: {reason(exc)}") from None
    return engine


def reason(exc: BaseException) -> str:
    """The driver's own message of a database exception, without SQLAlchemy's statement dump and link."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return " ".join(line.strip() for line in text if line.strip()) or type(original).__name__


def _engine_options(url: URL) -> dict:
    if url.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if url.get_backend_name() == "postgresql":
        return {"connect_args": {"connect_timeout": POSTGRESQL_CONNECT_TIMEOUT_S}, "pool_pre_ping": True}
    return {}


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # 32 MiB of page cache instead of 2: a bulk insert updates two value indexes at random places, and with the
    # default cache it rewrote the same pages over and over (10^4 fits inserted ~40% faster).
    dbapi_connection.execute("PRAGMA cache_size = -32768")


def _check_sqlite_path(url: URL, shown: str, create: bool) -> None:
    """Clear errors for what SQLite reports only as "unable to open database file"."""
    if not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if path.is_dir():
        raise DatabaseError(f"{shown}: {path} is a folder, not a database file")
    if path.exists():
        return
    if not create:
        raise DatabaseError(f"{shown}: no database file at {path}")
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseError(f"{shown}: cannot create the database file: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseError(f"{shown}: cannot create the database file: the folder {folder} is not writable")


def _prepare(engine: Engine, create: bool) -> None:
    """Connect once (so a bad URL fails here, named), check the schema version, create the tables if asked."""
    from galaxyfit.database.schema import Base, Info

    shown = describe(engine)
    try:
        with engine.connect() as connection:
            present = sa.inspect(connection).has_table(Info.__tablename__)
    except DBAPIError as exc:
        why = reason(exc)
        if engine.url.get_backend_name() == "sqlite" and "unable to open" in why:
            why += f" (the file {engine.url.database} cannot be created or opened there: a read-only or special location?)"
        raise DatabaseError(f"cannot connect to {shown}: {why}") from None
    if not present and not create:
        raise DatabaseError(f"{shown}: holds no galaxyfit results (no '{Info.__tablename__}' table); fill it with "
                            "galaxyfit.database.scrape(folder, url) or 'galaxyfit results DB --scrape FOLDER'")
    if present:
        with engine.connect() as connection:
            stored = connection.execute(sa.select(Info.value).where(Info.key == "schema_version")).scalar()
        if stored is not None and int(stored) > SCHEMA_VERSION:
            raise DatabaseError(f"{shown}: written with results schema {stored}, newer than this galaxyfit reads "
                                f"({SCHEMA_VERSION}); upgrade galaxyfit")
    if create:
        for attempt in range(5):
            try:
                with engine.begin() as connection:
                    Base.metadata.create_all(connection, checkfirst=True)
                    if connection.execute(sa.select(Info.value).where(Info.key == "schema_version")).scalar() is None:
                        connection.execute(sa.insert(Info), [{"key": "schema_version", "value": str(SCHEMA_VERSION)}])
                break
            except DBAPIError as exc:
                # Several writers opening a new database at once race to create the same tables; the losers find
                # them made on the next look. Anything else fails every time.
                if attempt == 4:
                    raise DatabaseError(f"cannot create the results tables in {shown}: {reason(exc)}") from None
                time.sleep(0.05 * (attempt + 1))
