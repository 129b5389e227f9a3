"""Reading a catalogue: one row per galaxy, a unique id per row, and the rows as plain dicts a worker can be sent.

A catalogue is an astropy ``Table``, a path to a table file (FITS, CSV, ECSV, Parquet, VOTable: whatever astropy's
``Table.read`` reads), a pandas ``DataFrame`` or a list of dicts. Its id column (``id`` unless told otherwise) names
each galaxy's output folder, ledger entry and database row, so ids must be unique and usable as a folder name.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from galaxyfit.errors import CatalogueError

#: Characters an id may not contain: it becomes a folder and a file name on every platform a catalogue may move to.
_BAD_ID_CHARACTERS = re.compile(r'[/\\\x00-\x1f:*?"<>|]')

#: Table formats by file suffix, where astropy cannot tell from the name alone (a .csv could be any ASCII table).
_FORMATS = {".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".parquet": "parquet", ".pq": "parquet", ".txt": "ascii",
            ".dat": "ascii", ".tsv": "ascii.tab"}


def read_table(table, id_column: str = "id"):
    """The catalogue ``table`` as an astropy ``Table`` with its id column checked.

    ``table``: an astropy Table (used as given), a path to a table file (FITS, CSV, ECSV, Parquet -- Parquet needs
    pyarrow), a pandas DataFrame, or a sequence of dicts (one per galaxy, the same keys in each).

    Raises CatalogueError naming the file, column or row when the table cannot be read, is empty, has no column
    ``id_column``, or an id is missing (masked, empty, NaN), duplicated, or cannot be a folder name ('.', '..', or
    containing '/', '\\', ':', control characters)."""
    from astropy.table import Table

    where = "the catalogue"
    if isinstance(table, Table):
        result = table
    elif isinstance(table, (str, Path)):
        path = Path(table)
        where = f"catalogue {path}"
        if not path.is_file():
            raise CatalogueError(f"{where}: no such file")
        suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
        fmt = _FORMATS.get(suffix.lower().removesuffix(".gz"))
        try:
            if fmt in ("ascii.csv", "ascii", "ascii.tab"):
                # ids are names: '007' must stay '007' (its file is 007.fits), not become the integer 7
                from astropy.io import ascii

                result = Table.read(path, format=fmt, converters={id_column: [ascii.convert_numpy(str)]})
            else:
                result = Table.read(path, format=fmt) if fmt else Table.read(path)
        except ModuleNotFoundError as exc:
            if fmt != "parquet":
                raise CatalogueError(f"{where}: cannot be read as a table ({exc})") from None
            result = _parquet_without_pandas(path, where, exc)
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for unreadable tables
            raise CatalogueError(f"{where}: cannot be read as a table ({type(exc).__name__}: {exc})") from None
    elif hasattr(table, "to_dict") and hasattr(table, "columns") and hasattr(table, "iloc"):  # pandas, without importing it
        result = Table.from_pandas(table)
    else:
        try:
            rows = list(table)
        except TypeError:
            raise CatalogueError(f"the catalogue must be an astropy Table, a table file, a pandas DataFrame or a list "
                                 f"of dicts, got {type(table).__name__}") from None
        if rows and not all(isinstance(r, dict) for r in rows):
            raise CatalogueError("a catalogue given as a list must hold one dict per galaxy")
        keys = list(dict.fromkeys(k for r in rows for k in r))
        missing = [(i, k) for i, r in enumerate(rows) for k in keys if k not in r]
        if missing:
            i, k = missing[0]
            raise CatalogueError(f"the catalogue's row {i} has no {k!r} (every dict needs the same keys)")
        result = Table(rows=[[r[k] for k in keys] for r in rows], names=keys) if rows else Table()
    if len(result) == 0:
        raise CatalogueError(f"{where} has no rows")
    if id_column not in result.colnames:
        raise CatalogueError(f"{where} has no id column {id_column!r} (columns: {', '.join(result.colnames)}); name "
                             "the column that identifies each galaxy with id_column= (--id-column)")
    ids = galaxy_ids(result, id_column, where)
    seen: dict[str, int] = {}
    for i, gid in enumerate(ids):
        if gid in seen:
            raise CatalogueError(f"{where}: id {gid!r} is in rows {seen[gid]} and {i}; ids must be unique (each galaxy "
                                 "has its own output folder and database row)")
        seen[gid] = i
    return result


def _parquet_without_pandas(path, where: str, why):
    """A Parquet file read with pyarrow alone (astropy's reader also wants pandas)."""
    from astropy.table import Table

    try:
        import pyarrow.parquet
    except ImportError:
        raise CatalogueError(f"{where}: reading Parquet needs pyarrow ({why})") from None
    try:
        return Table(pyarrow.parquet.read_table(path).to_pydict())
    except Exception as exc:  # noqa: BLE001
        raise CatalogueError(f"{where}: cannot be read as a table ({type(exc).__name__}: {exc})") from None


def galaxy_ids(table, id_column: str, where: str = "the catalogue") -> list[str]:
    """Each row's id as the text used for its folder and ledger entry (integers without a decimal point: 17, not
    17.0). Raises CatalogueError for a missing id or one that cannot be a folder name."""
    column = table[id_column]
    mask = getattr(column, "mask", None)
    ids = []
    for i, value in enumerate(column):
        if mask is not None and np.ndim(mask) and bool(mask[i]):
            raise CatalogueError(f"{where}: row {i} has no {id_column} (masked)")
        ids.append(id_text(value, f"{where}: row {i}'s {id_column}"))
    return ids


def id_text(value, where: str = "id") -> str:
    """The folder-safe text of one id; CatalogueError naming ``where`` when it is empty, NaN or not a folder name."""
    value = plain(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CatalogueError(f"{where} is {value}, not an id")
        if value.is_integer():
            value = int(value)
    text = value.decode() if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text or text in (".", "..") or text.startswith(".") or _BAD_ID_CHARACTERS.search(text):
        raise CatalogueError(f"{where} {value!r} cannot name a folder: ids must be non-empty, not start with '.', and "
                             "hold no '/', '\\', ':', '*', '?', '\"', '<', '>', '|' or control characters")
    return text


def plain(value):
    """A table cell as a plain Python value (numpy scalars -> int/float/str/bool, bytes -> str, masked -> None), so
    rows pickle small and format into file names as the user wrote them."""
    if value is np.ma.masked or (isinstance(value, np.ma.MaskedArray) and value.mask.all()):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def table_rows(table) -> list[dict]:
    """The rows of ``table`` as dicts of plain values (``plain``)."""
    names = table.colnames
    return [{name: plain(row[name]) for name in names} for row in table]
