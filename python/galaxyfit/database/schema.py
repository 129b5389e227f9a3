"""The results database's tables (SQLAlchemy 2.0 declarative).

Designed for 10^5 fits and more: one flat row per fit and one row per (fit, parameter), keyed by small integers,
instead of PyAutoFit's tree of one polymorphic row per model attribute. A parameter filter is then one range scan of
the index on (path_id, value); a parameter path like ``galaxies.galaxy.bulge.sersic_index`` is stored once, in
``path``, not once per fit.

Tables:

- ``fit``: one row per fit folder -- identity (``identifier``, unique), naming, where the folder is, the search,
  completion, and the summary statistics of ``files/samples_summary.json``.
- ``path``: every distinct parameter, latent or component path.
- ``parameter``: per fit and model parameter the max-likelihood value, the median and the errors at 1 and 3 sigma
  (``minus`` = median - lower bound, ``plus`` = upper bound - median, both >= 0, in the parameter's own units).
- ``latent``: the same shape for the derived quantities of ``files/latent/latent_summary.json``.
- ``component``: the class of every model component (``galaxies.galaxy.bulge`` -> ``Sersic``).
- ``figure``: every ``image/*.png``, relative to the fit's folder.
- ``document``: the JSON texts needed to rebuild a fit (model, samples summary, settings, search, latent summary).
- ``galaxyfit_info``: key/value facts about the database itself (its schema version).

The child tables (``parameter``, ``latent``, ``component``, ``figure``, ``document``) refer to ``fit.id`` and
``path.id`` without declared foreign keys: PostgreSQL checks a foreign key with a trigger per row, which made a
bulk COPY of 2x10^5 parameter rows three times slower (12 s against 4 s). Integrity is kept by the only writer,
``galaxyfit.database.write``, which replaces a fit's child rows in the same transaction as the fit row.

Missing numbers (a NaN latent, an absent evidence) are stored as NULL: PostgreSQL sorts NaN above every number, so
``> 3`` would otherwise select them.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Double, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: The quantities stored per parameter and per latent, in table order.
QUANTITIES = ("max_log_likelihood", "median", "minus_1sigma", "plus_1sigma", "minus_3sigma", "plus_3sigma")

#: The JSON documents kept per fit, by name, with the file each comes from (relative to the fit's folder).
DOCUMENTS = {
    "model": "files/model.json",
    "samples_summary": "files/samples_summary.json",
    "settings": "files/settings.json",
    "search": "files/search.json",
    "latent_summary": "files/latent/latent_summary.json",
}


class Base(DeclarativeBase):
    pass


class Info(Base):
    __tablename__ = "galaxyfit_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Fit(Base):
    __tablename__ = "fit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(512), index=True)
    path_prefix: Mapped[str | None] = mapped_column(String(1024))
    folder: Mapped[str] = mapped_column(Text)
    search: Mapped[str | None] = mapped_column(String(64), index=True)
    dataset_name: Mapped[str | None] = mapped_column(String(512), index=True)
    version: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[str | None] = mapped_column(String(40))  # ISO-8601 UTC text, so it sorts by time
    is_complete: Mapped[bool] = mapped_column(Boolean)
    max_log_likelihood: Mapped[float | None] = mapped_column(Double)
    log_evidence: Mapped[float | None] = mapped_column(Double, index=True)
    log_evidence_error: Mapped[float | None] = mapped_column(Double)
    chi_squared: Mapped[float | None] = mapped_column(Double)
    n_free_parameters: Mapped[int | None] = mapped_column(Integer)
    pixels_in_mask: Mapped[int | None] = mapped_column(Integer)
    # False when the fit failed its search's own check (result.trusted); None when it was not checked
    trusted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Sizes and times of the files read: an unchanged folder is not read again on a re-scrape.
    signature: Mapped[str] = mapped_column(String(64))
    scraped: Mapped[str] = mapped_column(String(40))


class PathName(Base):
    __tablename__ = "path"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)


class _Quantities:
    """Columns shared by ``parameter`` and ``latent``."""

    fit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # fit.id
    path_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # path.id
    max_log_likelihood: Mapped[float | None] = mapped_column(Double)
    median: Mapped[float | None] = mapped_column(Double)
    minus_1sigma: Mapped[float | None] = mapped_column(Double)
    plus_1sigma: Mapped[float | None] = mapped_column(Double)
    minus_3sigma: Mapped[float | None] = mapped_column(Double)
    plus_3sigma: Mapped[float | None] = mapped_column(Double)


def _value_indexes(table: str) -> tuple:
    """The (path_id, value) indexes a filter scans, covering the fit id so the scan never visits the table: SQLite
    stores the primary key in every index of a WITHOUT ROWID table, PostgreSQL is told to INCLUDE it (a filter on
    10^4 fits went from ~60 ms to ~8 ms on SQLite this way)."""
    return (
        Index(f"ix_{table}_path_max_log_likelihood", "path_id", "max_log_likelihood", postgresql_include=["fit_id"]),
        Index(f"ix_{table}_path_median", "path_id", "median", postgresql_include=["fit_id"]),
        {"sqlite_with_rowid": False},  # rows clustered by (fit_id, path_id): a fit's parameters are read together
    )


class Parameter(_Quantities, Base):
    __tablename__ = "parameter"
    __table_args__ = _value_indexes("parameter")


class Latent(_Quantities, Base):
    __tablename__ = "latent"
    __table_args__ = _value_indexes("latent")


class Component(Base):
    __tablename__ = "component"
    __table_args__ = (Index("ix_component_path_class", "path_id", "class_name", postgresql_include=["fit_id"]),
                      {"sqlite_with_rowid": False})

    fit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # fit.id
    path_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # path.id
    class_name: Mapped[str] = mapped_column(String(128))
    free: Mapped[bool] = mapped_column(Boolean)  # a Model (fitted) rather than a fixed instance


class Figure(Base):
    __tablename__ = "figure"

    fit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # fit.id
    name: Mapped[str] = mapped_column(String(256), primary_key=True)  # e.g. "fit", "subtracted_galaxy"
    path: Mapped[str] = mapped_column(Text)  # relative to the fit's folder, e.g. "image/fit.png"


class Document(Base):
    __tablename__ = "document"

    fit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # fit.id
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # a key of DOCUMENTS
    text: Mapped[str] = mapped_column(Text)


#: Tables with one or more rows per fit, deleted and rewritten when a fit is re-scraped.
CHILD_TABLES = (Parameter.__table__, Latent.__table__, Component.__table__, Figure.__table__, Document.__table__)
