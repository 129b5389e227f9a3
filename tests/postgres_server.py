"""A throwaway PostgreSQL server for tests: ``initdb`` in a temporary folder, ``postgres`` on a free loopback port
with trust authentication, one database, stopped and removed afterwards.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` OS user (``runuser``) in folders
that user owns; as anyone else it runs as that user. ``PostgresUnavailable`` says why a server cannot be started
here (no binaries, no ``postgres`` user); the caller decides whether that skips or fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path



def _major_version(folder: str) -> int:
    name = Path(folder).parent.name  # /usr/lib/postgresql/<major>/bin
    return int(name) if name.isdigit() else 0


#: Folders searched for initdb, pg_ctl and postgres, after $PATH; newest major version first.
BINARY_FOLDERS = ("/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True))

DATABASE = "galaxyfit_test"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started on this machine (the message says why)."""


def binaries() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``. Raises PostgresUnavailable if none does."""
    candidates = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    candidates += [Path(p) for p in BINARY_FOLDERS]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in {', '.join(BINARY_FOLDERS) or '/usr/lib/postgresql/*/bin'}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(timeout_s: float = 60.0):
    """Start a server; yield its SQLAlchemy URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/galaxyfit_test``);
    stop it (``pg_ctl stop -m fast``) and delete its folders on exit.

    Raises PostgresUnavailable when it cannot run here, RuntimeError (with the server log) when it fails to start."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise PostgresUnavailable("psycopg (3) is not installed: pip install 'galaxyfit[test]'")
    bin_dir = binaries()
    as_root = os.geteuid() == 0
    if as_root:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root and runuser is missing (initdb refuses to run as root)")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="galaxyfit_pg_"))
    sockets = Path(tempfile.mkdtemp(prefix="galaxyfit_pgsock_"))  # short: socket paths are limited to ~100 bytes
    data, log = base / "data", base / "server.log"
    started = False
    try:
        if as_root:
            for folder in (base, sockets):
                os.chown(folder, owner.pw_uid, owner.pw_gid)
        _run(prefix + [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync",
                       "--locale=C"], timeout_s)
        port = None
        for _ in range(3):  # another process may take the free port between looking and binding
            port = free_port()
            options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off")
            result = subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", str(int(timeout_s)),
                                              "-o", options, "start"], capture_output=True, text=True, timeout=timeout_s + 10)
            if result.returncode == 0:
                started = True
                break
        if not started:
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{_tail(log)}")
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=timeout_s)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _run(command, timeout_s):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text().splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` (a URL from :func:`postgres_server`); return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return parsed.set(database=name).render_as_string(hide_password=False)
