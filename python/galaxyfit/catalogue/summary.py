"""The catalogue's summary table: one row per galaxy with its status, quality flag, failure reason, every parameter's
best fit, median and 1-sigma bounds, the fit's log likelihood, evidence and chi^2, and its latent variables; written
as FITS and CSV (and Parquet when pyarrow is installed), each file atomically.

A galaxy's numbers are read from its completed output folder (:func:`summary_row`) by the worker that fitted it,
and travel to the client in the galaxy's record (and ledger entry), so the client never re-reads thousands of
folders at the end.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

#: Quality flag bits (0: fitted, checked and trusted). A galaxy's ``flag`` is their sum.
FLAG_UNTRUSTED = 1       #: the search's own check failed (``result.trusted`` False: see ``check`` for why)
FLAG_UNCHECKED = 2       #: the search's check could not run (``result.trusted`` None)
FLAG_AT_PRIOR_LIMIT = 4  #: a best-fit parameter lies on a limit of its prior
FLAG_UNCONSTRAINED = 8   #: a parameter's error is infinite or NaN (the data do not constrain it)
FLAG_FAILED = 16         #: no fit: see ``reason``

FLAG_TEXT = {FLAG_UNTRUSTED: "untrusted", FLAG_UNCHECKED: "unchecked", FLAG_AT_PRIOR_LIMIT: "at prior limit",
             FLAG_UNCONSTRAINED: "unconstrained", FLAG_FAILED: "failed"}

#: Columns of every row before the parameters', in this order (with the id column first).
FIXED_COLUMNS = ("status", "flag", "reason", "check", "log_likelihood", "log_evidence", "log_evidence_error",
                 "chi_squared", "reduced_chi_squared", "n_free_parameters", "pixels_in_mask", "fit_s", "folder",
                 "identifier")
_TEXT_COLUMNS = ("status", "reason", "check", "folder", "identifier")
_INT_COLUMNS = ("flag", "n_free_parameters", "pixels_in_mask")

#: Suffixes of each parameter's and latent variable's columns: best fit, median, median -+ 1 sigma.
QUANTITY_SUFFIXES = ("ml", "median", "lower", "upper")


def flag_text(flag: int) -> str:
    """The names of the bits set in ``flag`` ("ok" for 0)."""
    names = [text for bit, text in FLAG_TEXT.items() if int(flag) & bit]
    return ", ".join(names) or "ok"


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _number(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def summary_row(folder) -> dict:
    """The summary numbers of one completed fit folder: ``{"flag", "check", "log_likelihood", "log_evidence",
    "log_evidence_error", "chi_squared", "reduced_chi_squared", "n_free_parameters", "pixels_in_mask", "parameters":
    {name: [ml, median, lower, upper]}, "latents": {name: [ml, median, lower, upper]}}`` (lower and upper: the
    1-sigma bounds, values not distances; NaN where unknown). Reads ``files/samples_summary.json``,
    ``files/result.json`` (the search's check and limits) and ``files/latent/latent_summary.json``.

    Raises OutputError naming the folder when ``samples_summary.json`` cannot be read."""
    from galaxyfit.errors import OutputError

    folder = Path(folder)
    summary = _load(folder / "files" / "samples_summary.json")
    if not isinstance(summary, dict):
        raise OutputError(f"{folder}: files/samples_summary.json is missing or unreadable")
    parameters = {}
    for name, values in (summary.get("parameters") or {}).items():
        median = _number(values.get("median"))
        parameters[name] = [_number(values.get("max_log_likelihood")), median,
                            median - _number(values.get("minus_1sigma")), median + _number(values.get("plus_1sigma"))]
    latents = {}
    latent = _load(folder / "files" / "latent" / "latent_summary.json")
    for name, values in (latent or {}).items():
        if isinstance(values, dict):
            latents[name] = [_number(values.get(k)) for k in ("max_log_likelihood", "median", "lower_1sigma", "upper_1sigma")]
    search = (_load(folder / "files" / "result.json") or {}).get("search") or {}
    check = search.get("check") or {}
    trusted = summary.get("trusted")
    flag = 0
    if trusted is False:
        flag |= FLAG_UNTRUSTED
    elif trusted is None:
        flag |= FLAG_UNCHECKED
    if search.get("parameters_at_prior_limits"):
        flag |= FLAG_AT_PRIOR_LIMIT
    if search.get("unconstrained") or any(not (math.isfinite(v[2]) and math.isfinite(v[3])) for v in parameters.values()):
        flag |= FLAG_UNCONSTRAINED
    statistics = summary.get("fit_statistics") or {}
    return {
        "flag": flag,
        "check": "; ".join(str(p) for p in check.get("problems") or []),
        "log_likelihood": _number(summary.get("max_log_likelihood")),
        "log_evidence": _number(summary.get("log_evidence")),
        "log_evidence_error": _number(summary.get("log_evidence_error")),
        "chi_squared": _number(summary.get("chi_squared")),
        "reduced_chi_squared": _number(statistics.get("reduced_chi_squared")),
        "n_free_parameters": summary.get("n_free_parameters"),
        "pixels_in_mask": summary.get("pixels_in_mask"),
        "parameters": parameters,
        "latents": latents,
    }


def summary_table(records, id_column: str = "id", id_values=None):
    """An astropy Table of the galaxies' records (``task.GalaxyRecord`` dicts, in catalogue order): the id column
    (``id_values``: the catalogue's own values, else the id text), ``FIXED_COLUMNS``, then for each parameter and
    latent variable of any galaxy ``<name>_ml``, ``_median``, ``_lower``, ``_upper`` (latents prefixed
    ``latent.``); NaN (or -1 for integers) where a galaxy has none of it."""
    from astropy.table import Table

    records = list(records)
    parameter_names: dict[str, None] = {}
    latent_names: dict[str, None] = {}
    for record in records:
        row = record.get("summary") or {}
        parameter_names.update(dict.fromkeys(row.get("parameters") or {}))
        latent_names.update(dict.fromkeys(row.get("latents") or {}))
    columns: dict[str, list] = {id_column: list(id_values) if id_values is not None else [r["id"] for r in records]}
    for name in FIXED_COLUMNS:
        columns[name] = []
    quantity_columns = [(kind, name, f"{'latent.' if kind == 'latents' else ''}{name}_{suffix}", k)
                        for kind, names in (("parameters", parameter_names), ("latents", latent_names))
                        for name in names for k, suffix in enumerate(QUANTITY_SUFFIXES)]
    for _, _, column, _ in quantity_columns:
        columns[column] = []
    for record in records:
        row = record.get("summary") or {}
        done = record.get("status") == "done"
        flag = int(row.get("flag", 0)) if done else FLAG_FAILED
        values = {
            "status": record.get("status") or "", "flag": flag, "reason": _one_line(record.get("reason")),
            "check": row.get("check") or "", "fit_s": _number(record.get("fit_s")),
            "folder": record.get("folder") or "", "identifier": record.get("identifier") or "",
        }
        for name in FIXED_COLUMNS:
            if name in values:
                columns[name].append(values[name])
            elif name in _INT_COLUMNS:
                value = row.get(name)
                columns[name].append(-1 if value is None else int(value))
            else:
                columns[name].append(_number(row.get(name)))
        for kind, name, column, k in quantity_columns:
            quantity = (row.get(kind) or {}).get(name)
            columns[column].append(math.nan if quantity is None else _number(quantity[k]))
    table = Table()
    for name, values in columns.items():
        if name in _TEXT_COLUMNS:
            table[name] = np.array([str(v) for v in values], dtype=str) if values else np.array([], dtype=str)
        elif name in _INT_COLUMNS:
            table[name] = np.array(values, dtype=np.int64)
        elif name == id_column:
            table[name] = values
        else:
            table[name] = np.array(values, dtype=np.float64)
    table.meta["FLAGS"] = ", ".join(f"{bit}={text}" for bit, text in FLAG_TEXT.items())
    return table


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


def write_summary(table, output, name: str = "summary") -> dict[str, Path]:
    """Write ``table`` as ``output/<name>.fits``, ``.csv`` and, when pyarrow imports, ``.parquet``, each atomically
    (a temporary file renamed into place). Returns {format: path}. Raises OutputError naming the file."""
    from galaxyfit.output import atomic_destination

    output = Path(output)
    paths = {"fits": output / f"{name}.fits", "csv": output / f"{name}.csv"}
    formats = {"fits": "fits", "csv": "ascii.csv"}
    try:
        import pyarrow  # noqa: F401

        paths["parquet"] = output / f"{name}.parquet"
        formats["parquet"] = "parquet"
    except ImportError:
        pass
    for kind, path in list(paths.items()):
        try:
            with atomic_destination(path, suffix=".tmp") as tmp:
                table.write(tmp, format=formats[kind], overwrite=True)
        except ImportError as exc:  # Parquet is the extra: its absence (or a half-installed pyarrow) costs only that file
            warnings.warn(f"{path} not written: {exc}", stacklevel=2)
            del paths[kind]
    return paths
