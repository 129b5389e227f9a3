"""Reading fit output folders (``<output>/<path_prefix>/<name>/<identifier>/``, see the lifecycle's layout) into
database rows, and the two ways rows get written: :func:`add_fit` by the process that ran a fit, when it completes,
and :func:`scrape` over a tree of folders later.

One writer: a running fit touches only its own folder; nothing writes the database while fitting, so many fits on
a cluster never contend for (or corrupt) one SQLite file on a network filesystem.

A folder that cannot be read -- unfinished when only completed fits are wanted, a file missing, JSON that does not
parse (a truncated ``samples_summary.json``), numbers that are not numbers -- is reported as ``(folder, reason)`` in
:attr:`ScrapeResult.skipped`, with one :class:`ScrapeWarning`, and skipped; it never stops a scrape.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from galaxyfit.database.connection import DatabaseError
from galaxyfit.database.schema import DOCUMENTS, QUANTITIES

#: Files whose presence marks a folder as a fit's output folder (even one too damaged to read).
FOLDER_MARKERS = ("metadata.json", ".completed", ".identifier")

#: Files whose size and modification time make a folder's signature: a re-scrape skips a folder whose signature
#: is the one stored.
_SIGNED_FILES = ("metadata.json", ".completed", *DOCUMENTS.values())


class ScrapeWarning(UserWarning):
    """Fit folders skipped by a scrape, with the reason for each."""


class FolderError(Exception):
    """Why one folder cannot be read (caught and reported by the scrape, never raised to the caller)."""


@dataclass
class FitRows:
    """Everything the database stores of one fit, as plain tuples (no per-row objects: 10^5 fits are scraped).

    ``parameters`` and ``latents``: ``(path, max_log_likelihood, median, minus_1sigma, plus_1sigma, minus_3sigma,
    plus_3sigma)`` with None for a missing or NaN number. ``components``: ``(path, class_name, free)``.
    ``figures``: ``(name, path relative to the folder)``. ``documents``: ``{name: JSON text}`` (keys of
    ``schema.DOCUMENTS``)."""

    fit: dict
    parameters: list[tuple] = field(default_factory=list)
    latents: list[tuple] = field(default_factory=list)
    components: list[tuple] = field(default_factory=list)
    figures: list[tuple] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        return self.fit["identifier"]


@dataclass
class ScrapeResult:
    """What a scrape or :func:`add_fit` did, by identifier: ``added`` (new rows), ``updated`` (rows rewritten
    because the folder changed or moved), ``unchanged`` (already stored, folder untouched since), and ``skipped``:
    ``(folder, reason)`` for every folder that could not be read."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, {len(self.skipped)} skipped"
        return text + "".join(f"\n  skipped {folder}: {why}" for folder, why in self.skipped)


def find_fit_folders(root, errors: list | None = None) -> list[Path]:
    """Every fit output folder under ``root`` (``root`` itself included), sorted: a folder holding one of
    ``FOLDER_MARKERS``. A fit folder is not descended into; hidden folders (temporaries) are not entered.
    Folders that cannot be listed are appended to ``errors`` as ``(folder, reason)``."""
    found = []

    def unlistable(exc: OSError):
        if errors is not None:
            errors.append((str(exc.filename), f"cannot list the folder ({exc.strerror or exc})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable):
        if any(marker in filenames for marker in FOLDER_MARKERS):
            found.append(Path(dirpath))
            dirnames[:] = []
        else:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)


def folder_signature(folder: Path) -> str:
    """A digest of the folder's absolute path and the sizes and modification times of the files read from it
    (plus the names of its figures): it changes when the fit is rewritten, completed or moved."""
    digest = hashlib.sha256(str(folder.absolute()).encode())
    for name in _SIGNED_FILES:
        try:
            stat = os.stat(folder / name)
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        except OSError:
            digest.update(f"{name}:-;".encode())
    digest.update(";".join(_figure_files(folder)).encode())
    return digest.hexdigest()[:40]


def read_fit_folder(folder, *, completed_only: bool = True, signature: str | None = None) -> FitRows:
    """The rows of one fit folder.

    A completed fit (``.completed`` present) must have ``metadata.json``, ``files/model.json`` and
    ``files/samples_summary.json``; an unfinished one (read only with ``completed_only=False``) needs only
    ``metadata.json``. Every JSON file present must parse.

    Raises FolderError with the reason when the folder cannot be read."""
    folder = Path(folder).absolute()
    complete = (folder / ".completed").is_file()
    if completed_only and not complete:
        raise FolderError("not completed: no .completed marker (still running, killed, or half-written)")
    signature = signature or folder_signature(folder)
    metadata = _load_json(folder, "metadata.json", required=True)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("identifier"), str) or not metadata["identifier"].strip():
        raise FolderError("metadata.json: no 'identifier' string")
    texts = {name: _read_text(folder, relative, required=complete and name in ("model", "samples_summary"))
             for name, relative in DOCUMENTS.items()}
    parsed = {name: _parse_json(text, DOCUMENTS[name]) for name, text in texts.items() if text is not None}
    summary = parsed.get("samples_summary", {})
    if not isinstance(summary, dict):
        raise FolderError("files/samples_summary.json: not a JSON object")
    _check_samples(folder)
    search = metadata.get("search")
    if search is None and isinstance(parsed.get("search"), dict):
        search = parsed["search"].get("name")
    rows = FitRows(
        fit={
            "identifier": metadata["identifier"].strip(),
            "name": _text(metadata.get("name")),
            "path_prefix": _text(metadata.get("path_prefix")),
            "folder": str(folder),
            "search": _text(search),
            "dataset_name": _text(metadata.get("dataset_name")),
            "version": _text(metadata.get("galaxyfit_version", metadata.get("version"))),
            "created": _text(metadata.get("created")),
            "is_complete": complete,
            "max_log_likelihood": _number(summary.get("max_log_likelihood"), "samples_summary.json: max_log_likelihood"),
            "log_evidence": _number(summary.get("log_evidence"), "samples_summary.json: log_evidence"),
            "log_evidence_error": _number(summary.get("log_evidence_error"), "samples_summary.json: log_evidence_error"),
            "chi_squared": _number(summary.get("chi_squared"), "samples_summary.json: chi_squared"),
            "n_free_parameters": _integer(summary.get("n_free_parameters"), "samples_summary.json: n_free_parameters"),
            "pixels_in_mask": _integer(summary.get("pixels_in_mask"), "samples_summary.json: pixels_in_mask"),
            "trusted": summary.get("trusted") if isinstance(summary.get("trusted"), bool) else None,
            "signature": signature,
            "scraped": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        parameters=_parameter_rows(summary) if summary else [],
        latents=_latent_rows(parsed["latent_summary"]) if "latent_summary" in parsed else [],
        components=_component_rows(parsed["model"]) if "model" in parsed else [],
        figures=[(Path(name).stem, f"image/{name}") for name in _figure_files(folder)],
        documents={name: text for name, text in texts.items() if text is not None},
    )
    return rows


def read_fit_folders(folders, *, completed_only: bool = True, known: dict | None = None, seen: dict | None = None):
    """``(rows, unchanged, skipped)`` for ``folders``: ``rows``, FitRows of the folders to write; ``unchanged``,
    identifiers of folders whose signature is the one stored (``known``: ``{folder: (identifier, signature)}``),
    not read again; ``skipped``, ``(folder, reason)``. Two folders with one identifier (a copied fit) keep the
    first and report the second; ``seen`` (``{identifier: folder}``, updated) carries that across calls."""
    rows, unchanged, skipped = [], [], []
    known = known or {}
    seen = {} if seen is None else seen
    for folder in folders:
        folder = Path(folder).absolute()
        try:
            signature = folder_signature(folder)
            stored = known.get(str(folder))
            if stored is not None and stored[1] == signature:
                identifier = stored[0]
                if identifier not in seen:
                    seen[identifier] = folder
                    unchanged.append(identifier)
                    continue
                raise FolderError(f"identifier {identifier} already read from {seen[identifier]}")
            fit = read_fit_folder(folder, completed_only=completed_only, signature=signature)
        except FolderError as exc:
            skipped.append((str(folder), str(exc)))
            continue
        except OSError as exc:  # a file that vanished or cannot be read between listing and reading
            skipped.append((str(folder), f"{exc.filename or folder}: {exc.strerror or exc}"))
            continue
        if fit.identifier in seen:
            skipped.append((str(folder), f"identifier {fit.identifier} already read from {seen[fit.identifier]}"))
            continue
        seen[fit.identifier] = folder
        rows.append(fit)
    return rows, unchanged, skipped


def scrape(path, url, *, completed_only: bool = True, batch_size: int = 1000) -> ScrapeResult:
    """Add every fit folder under ``path`` to the results database at ``url`` (a SQLite file path, a URL, an
    ``Engine`` or an ``Aggregator``; the file and tables are created if missing).

    Folders already stored are matched by identifier: rewritten if the folder changed or moved, left alone if not
    (judged by the sizes and times of its files, without reading them), never duplicated. Folders that cannot be
    read are skipped and listed in the result's ``skipped`` (and one ScrapeWarning). Folders are read and written
    ``batch_size`` at a time, one transaction each, so memory stays bounded for 10^5 folders and a fit is stored
    whole or not at all.

    Raises DatabaseError when the database cannot be opened or written, or ``path`` is not a folder."""
    from galaxyfit.database.write import analyze_if_large, known_signatures, write_fits

    root = Path(path)
    if not root.is_dir():
        raise DatabaseError(f"cannot scrape {root}: no such folder")
    engine, owned = _engine(url)
    result = ScrapeResult()
    try:
        folders = find_fit_folders(root, result.skipped)
        known = known_signatures(engine)
        seen: dict = {}
        written = 0
        for start in range(0, len(folders), batch_size):
            rows, unchanged, skipped = read_fit_folders(folders[start:start + batch_size], completed_only=completed_only,
                                                        known=known, seen=seen)
            result.unchanged += unchanged
            result.skipped += skipped
            added, updated = write_fits(engine, rows, batch_size=batch_size, analyze_after=False)
            result.added += added
            result.updated += updated
            written += sum(len(r.parameters) + len(r.latents) for r in rows)
        analyze_if_large(engine, written)
    finally:
        if owned:
            engine.dispose()
    _warn_skipped(result.skipped)
    return result


def add_fit(url_or_session, folder, *, completed_only: bool = False) -> ScrapeResult:
    """Store one fit folder in the results database: what a search calls when its fit completes.

    ``url_or_session``: a SQLite file path, a database URL, an ``Engine``, a SQLAlchemy ``Session`` (its engine is
    used) or an ``Aggregator``. The folder is read as :func:`scrape` reads it; if it cannot be read it is reported
    in ``skipped`` (and warned about), not raised, so a finished fit never fails at this last step.

    Raises DatabaseError when the database cannot be opened or written; the folder is untouched and can be added
    later with :func:`scrape`."""
    from galaxyfit.database.write import write_fits

    folder = Path(folder).absolute()
    result = ScrapeResult()
    rows, _, result.skipped = read_fit_folders([folder], completed_only=completed_only)
    if rows:
        try:
            engine, owned = _engine(url_or_session)
            try:
                result.added, result.updated = write_fits(engine, rows)
            finally:
                if owned:
                    engine.dispose()
        except DatabaseError as exc:
            raise DatabaseError(f"{exc}; the fit's folder {folder} is complete on disk: add it later with "
                                f"galaxyfit.database.scrape or 'galaxyfit results DB --scrape FOLDER'") from None
    _warn_skipped(result.skipped)
    return result


def _engine(target):
    """(engine, whether this call opened it and must dispose of it) for anything a writer accepts."""
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from galaxyfit.database.connection import open_database

    if isinstance(target, Engine):
        return target, False
    if isinstance(target, Session):
        return target.get_bind(), False
    engine = getattr(target, "engine", None)
    if isinstance(engine, Engine):
        return engine, False
    return open_database(target, create=True), True


def _warn_skipped(skipped) -> None:
    if not skipped:
        return
    shown = "; ".join(f"{folder}: {why}" for folder, why in skipped[:5])
    more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
    warnings.warn(ScrapeWarning(f"skipped {len(skipped)} fit folder{'s' if len(skipped) != 1 else ''}: {shown}{more}"), stacklevel=3)


def _figure_files(folder: Path) -> list[str]:
    try:
        with os.scandir(folder / "image") as entries:
            return sorted(e.name for e in entries if e.name.endswith(".png") and not e.name.startswith(".") and e.is_file())
    except OSError:
        return []


def _read_text(folder: Path, relative: str, *, required: bool) -> str | None:
    try:
        return (folder / relative).read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise FolderError(f"{relative} is missing") from None
        return None
    except UnicodeDecodeError:
        raise FolderError(f"{relative}: not UTF-8 text") from None
    except OSError as exc:
        raise FolderError(f"{relative}: cannot be read ({exc.strerror or exc})") from None


def _parse_json(text: str, relative: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FolderError(f"{relative}: not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}; "
                          f"truncated or damaged)") from None


def _load_json(folder: Path, relative: str, *, required: bool):
    text = _read_text(folder, relative, required=required)
    return None if text is None else _parse_json(text, relative)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _check_samples(folder: Path) -> None:
    """FolderError when ``files/samples.csv`` differs from the row count and SHA-256 its record
    ``files/samples_info.json`` holds (a damaged or truncated file, which ``Samples.from_csv`` would refuse too).
    Reading the file costs ~1 ms per MB; a folder without samples is left to the other checks."""
    import hashlib

    csv, record_path = folder / "files" / "samples.csv", folder / "files" / "samples_info.json"
    if not csv.is_file() or not record_path.is_file():
        return
    try:
        record = json.loads(record_path.read_text())
        content = csv.read_bytes()
    except (OSError, ValueError) as exc:
        raise FolderError(f"files/samples_info.json or samples.csv: cannot be read ({exc})") from None
    if not isinstance(record, dict) or record.get("sha256") != hashlib.sha256(content).hexdigest():
        raise FolderError("files/samples.csv: its content differs from its record samples_info.json (damaged, "
                          "truncated or edited)")


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FolderError(f"{where}: expected a number, got {value!r}")
    value = float(value)
    return None if math.isnan(value) else value


def _integer(value, where: str) -> int | None:
    number = _number(value, where)
    if number is None:
        return None
    if not number.is_integer():
        raise FolderError(f"{where}: expected an integer, got {value!r}")
    return int(number)


def _parameter_rows(summary: dict) -> list[tuple]:
    parameters = summary.get("parameters")
    if parameters is None:
        return []
    if not isinstance(parameters, dict):
        raise FolderError("files/samples_summary.json: 'parameters' is not a JSON object")
    rows = []
    for path, entry in parameters.items():
        if not isinstance(entry, dict):
            raise FolderError(f"files/samples_summary.json: parameters.{path} is not a JSON object")
        rows.append((path, *(_number(entry.get(q), f"samples_summary.json: parameters.{path}.{q}") for q in QUANTITIES)))
    return rows


def _latent_rows(latents) -> list[tuple]:
    """Rows of latent_summary.json, whose intervals are bounds (``lower_1sigma``): stored as errors about the
    median, the shape of the parameter rows."""
    where = "files/latent/latent_summary.json"
    if not isinstance(latents, dict):
        raise FolderError(f"{where}: not a JSON object")
    rows = []
    for path, entry in latents.items():
        if not isinstance(entry, dict):
            raise FolderError(f"{where}: {path} is not a JSON object")
        values = {key: _number(value, f"latent_summary.json: {path}.{key}") for key, value in entry.items()
                  if key in QUANTITIES or key.startswith(("lower_", "upper_"))}
        median = values.get("median")
        for sigma in ("1sigma", "3sigma"):
            lower, upper = values.get(f"lower_{sigma}"), values.get(f"upper_{sigma}")
            if f"minus_{sigma}" not in values:
                values[f"minus_{sigma}"] = None if median is None or lower is None else median - lower
            if f"plus_{sigma}" not in values:
                values[f"plus_{sigma}"] = None if median is None or upper is None else upper - median
        rows.append((path, *(values.get(q) for q in QUANTITIES)))
    return rows


def _component_rows(model) -> list[tuple]:
    """``(path, class name, free)`` of every model component in a ``Model.to_dict`` tree: ``{"type": "model",
    "class": ...}`` nodes (free) and ``{"fixed": class}`` instances."""
    if not isinstance(model, dict) or not isinstance(model.get("model"), dict):
        raise FolderError("files/model.json: expected {'model': {...}, 'priors': {...}} as Model.to_json writes it")
    rows = []

    def walk(node, path):
        if not isinstance(node, dict):
            return
        if path and node.get("type") == "model" and isinstance(node.get("class"), str):
            rows.append((".".join(path), node["class"], True))
        elif path and isinstance(node.get("fixed"), str):
            rows.append((".".join(path), node["fixed"], False))
        attributes = node.get("attributes")
        if isinstance(attributes, dict):
            for name, child in attributes.items():
                walk(child, path + (name,))

    walk(model["model"], ())
    return rows
