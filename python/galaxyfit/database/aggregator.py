"""``Aggregator``: the query API over a results database, as PyAutoFit's is used from autogalaxy::

    agg = Aggregator.from_database("results.sqlite")          # or "postgresql://user@host/db"
    agg.add_directory("output")                               # scrape finished fits in (never duplicates)
    agg = agg.query((agg.model.galaxies.galaxy.bulge.sersic_index > 3) & (agg.search.name == "nautilus"))
    agg = agg.order_by(agg.search.log_evidence, descending=True)
    n = agg.values("galaxies.galaxy.bulge.sersic_index")      # numpy array, one value per fit, in order
    table = agg.table(["name", "log_evidence", "median:galaxies.galaxy.bulge.effective_radius"])
    for record in agg[:10]:                                   # FitRecord: parameters, figures, model, ...
        ...

An Aggregator is an immutable description of a query: ``query``, ``order_by`` and slicing return new ones, and
each call that needs rows (``len``, iteration, ``values``, ``table``) runs one SQL statement. Results come in a
stable order: the ``order_by`` key, then the order fits were stored.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from galaxyfit.database.connection import DatabaseError, describe, open_database, reason
from galaxyfit.database.query import (FIT_COLUMNS, FitColumn, PathBuilder, Predicate, QuantityTerm, QueryError, SearchNamespace,
                                      as_predicate, as_term, parse_where, term_from_spec)
from galaxyfit.database.record import FitRecord, RecordPage
from galaxyfit.database.schema import QUANTITIES, Fit

_FIT = Fit.__table__

#: Records per page of an iteration (one query per page for each kind of child row asked for).
PAGE_SIZE = 500

#: What ``table()`` shows when no columns are given.
DEFAULT_COLUMNS = ("identifier", "name", "search", "dataset_name", "is_complete", "max_log_likelihood", "log_evidence",
                   "log_evidence_error")


class UnknownPathWarning(UserWarning):
    """A parameter or latent path that no fit in the database has (a typo, or another model)."""


class Aggregator:
    """Stored fits matching a query. Build one with :meth:`from_database`."""

    def __init__(self, engine, *, where=(), order=(), offset: int = 0, limit: int | None = None):
        self.engine = engine
        self._where = tuple(where)
        self._order = tuple(order)
        self._offset = offset
        self._limit = limit

    @classmethod
    def from_database(cls, url, completed_only: bool = False, create: bool = True) -> "Aggregator":
        """The fits in the database at ``url``: a SQLite file path, ``sqlite:///path``, or a PostgreSQL URL
        (``postgresql://user:password@host:port/db``, served by psycopg 3). With ``completed_only`` only fits whose
        folder had its ``.completed`` marker. ``create`` makes a missing SQLite file (to :meth:`add_directory`
        into); with ``create=False`` a missing file or a database without galaxyfit's tables is an error.

        Raises DatabaseError naming the URL (password masked) and why it cannot be opened."""
        aggregator = cls(open_database(url, create=create))
        return aggregator.query(aggregator.search.is_complete) if completed_only else aggregator

    # ---- building queries -------------------------------------------------------------------------------------

    @property
    def model(self) -> PathBuilder:
        """``agg.model.galaxies.galaxy.bulge.sersic_index > 3``: the max-likelihood value of a parameter;
        ``agg.model.galaxies.galaxy.bulge == gf.lp.Sersic``: the class of a component."""
        return PathBuilder()

    @property
    def median(self) -> PathBuilder:
        """``agg.median.galaxies.galaxy.bulge.sersic_index > 3``: the posterior median of a parameter."""
        return PathBuilder(quantity="median")

    @property
    def latent(self) -> PathBuilder:
        """``agg.latent.galaxies.galaxy.total_flux > 10``: the max-likelihood value of a latent variable."""
        return PathBuilder(latent=True)

    @property
    def latent_median(self) -> PathBuilder:
        """``agg.latent_median.galaxies.galaxy.total_flux > 10``: the posterior median of a latent variable."""
        return PathBuilder(quantity="median", latent=True)

    @property
    def search(self) -> SearchNamespace:
        """``agg.search.<column>``: a fit's own columns (``log_evidence``, ``max_log_likelihood``, ``is_complete``,
        ``dataset_name``, ``path_prefix``, ...); ``agg.search.name`` is the search's name ("nautilus"),
        ``agg.search.fit_name`` the fit's name."""
        return SearchNamespace()

    def parameter(self, path: str, kind: str = "max_log_likelihood", latent: bool = False) -> QuantityTerm:
        """Any stored quantity (``kind`` one of max_log_likelihood, median, minus_1sigma, plus_1sigma,
        minus_3sigma, plus_3sigma) of a parameter path, or of a latent with ``latent=True``, to compare, order by
        or show. Raises QueryError for an unknown ``kind``."""
        return QuantityTerm(path, kind, latent)

    def query(self, predicate) -> "Aggregator":
        """The fits of this aggregator that satisfy ``predicate`` (comparisons combined with ``&``, ``|``, ``~``),
        and any earlier filters. Raises QueryError on a sliced aggregator: filter first, then slice."""
        if self._offset or self._limit is not None:
            raise QueryError("filter before slicing: agg.query(...)[:n], not agg[:n].query(...)")
        predicate = as_predicate(predicate)
        self._warn_unknown_paths(predicate.terms)
        return self._replace(where=self._where + (predicate.clause,))

    def where(self, text: str) -> "Aggregator":
        """:meth:`query` with the filter written as text, as on the command line:
        ``agg.where("galaxies.galaxy.bulge.sersic_index > 3 and search == nautilus")`` (see ``query.parse_where``)."""
        return self.query(parse_where(text))

    def order_by(self, term, descending: bool = False) -> "Aggregator":
        """These fits ordered by ``term`` (``agg.search.log_evidence``, ``agg.model.galaxies...``, or text as
        ``term_from_spec`` reads it), replacing any earlier order; missing values come last either way."""
        if self._offset or self._limit is not None:
            raise QueryError("order before slicing: agg.order_by(...)[:n], not agg[:n].order_by(...)")
        term = as_term(term)
        self._warn_unknown_paths([term])
        return self._replace(order=((term, bool(descending)),))

    def __getitem__(self, item):
        """``agg[i]``: one FitRecord (IndexError past the end); ``agg[a:b]``: an Aggregator of those fits."""
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise QueryError("slices of an aggregator take no step")
            start, stop = item.start or 0, item.stop
            if start < 0 or (stop is not None and stop < 0):
                start, stop, _ = item.indices(len(self))
            length = None if stop is None else max(0, stop - start)
            if self._limit is not None:
                available = max(0, self._limit - start)
                length = available if length is None else min(length, available)
            return self._replace(offset=self._offset + start, limit=length)
        if isinstance(item, (int, np.integer)):
            index = int(item) + (len(self) if item < 0 else 0)
            records = list(self[index:index + 1]) if index >= 0 else []
            if not records:
                raise IndexError(f"fit {item} of an aggregator of {len(self)}")
            return records[0]
        raise TypeError(f"an aggregator is indexed by an int or a slice, not {type(item).__name__}")

    # ---- reading ------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        statement = sa.select(sa.func.count()).select_from(self._select(_FIT.c.id).subquery())
        return int(self._rows(statement)[0][0])

    def __iter__(self):
        """FitRecords, in order; their child rows are read a page (PAGE_SIZE records) at a time when first used."""
        columns = [_FIT.c.id, *(_FIT.c[name] for name in FIT_COLUMNS)]
        rows = self._rows(self._select(*columns))
        for start in range(0, len(rows), PAGE_SIZE):
            page_rows = rows[start:start + PAGE_SIZE]
            page = RecordPage(self.engine, [row[0] for row in page_rows])
            for row in page_rows:
                yield FitRecord(page, row[0], dict(zip(FIT_COLUMNS, row[1:])))

    def identifiers(self) -> list[str]:
        """The identifiers of these fits, in order."""
        return self._scalars(self._select(_FIT.c.identifier))

    def values(self, path, kind: str = "max_log_likelihood", latent: bool = False) -> np.ndarray:
        """One value per fit, in order: a parameter's stored ``kind`` (default the max-likelihood value; also
        median, minus_1sigma, plus_1sigma, minus_3sigma, plus_3sigma), a latent's with ``latent=True``, or a fit
        column (``"log_evidence"``). ``path``: a path string, ``agg.model....``, or a term.

        Returns a float64 array of shape (n_fits,), NaN where a fit lacks the value (an object array for a text
        column). Raises QueryError for an unknown column or kind."""
        term = self._value_term(path, kind, latent)
        self._warn_unknown_paths([term])
        values = self._scalars(self._select(term.expression()))
        if term.kind == "str":
            return np.array(values, dtype=object)
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    def errors(self, path, sigma: float = 1, latent: bool = False) -> np.ndarray:
        """``(minus, plus)`` per fit of a parameter (or latent): the distances from the median to the lower and
        upper bounds of the ``sigma`` credible interval (1 or 3), in the parameter's units.

        Returns a float64 array of shape (n_fits, 2), NaN where missing. Raises QueryError for another sigma."""
        if sigma not in (1, 3):
            raise QueryError(f"errors are stored at 1 and 3 sigma, not {sigma}")
        name = path.path if isinstance(path, PathBuilder) else path
        self._warn_unknown_paths([QuantityTerm(name, "median", latent)])
        minus = QuantityTerm(name, f"minus_{int(sigma)}sigma", latent).expression()
        plus = QuantityTerm(name, f"plus_{int(sigma)}sigma", latent).expression()
        rows = self._rows(self._select(minus, plus))
        return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float).reshape(len(rows), 2)

    def table(self, columns=None):
        """An astropy Table of these fits, one row each in order. ``columns``: fit columns and parameter terms as
        ``term_from_spec`` reads them (``"log_evidence"``, ``"galaxies.galaxy.bulge.sersic_index"``,
        ``"median:..."``, ``"minus_1sigma:..."``, ``"latent:..."``) or query terms (``agg.model....``); default
        ``DEFAULT_COLUMNS``. Numbers are float64 (NaN where missing), counts masked where missing.

        Raises QueryError for an unknown column."""
        from astropy.table import MaskedColumn, Table

        terms = [as_term(c) for c in (DEFAULT_COLUMNS if columns is None else columns)]
        self._warn_unknown_paths(terms)
        labels = _unique([t.label for t in terms])
        rows = self._rows(self._select(*(t.expression().label(f"c{i}") for i, t in enumerate(terms))))
        table = Table()
        for i, (term, label) in enumerate(zip(terms, labels)):
            values = [row[i] for row in rows]
            if term.kind == "float":
                table[label] = np.array([np.nan if v is None else v for v in values], dtype=float)
                table[label].format = ".6g"
            elif term.kind == "int":
                table[label] = MaskedColumn([0 if v is None else v for v in values], mask=[v is None for v in values], dtype=np.int64)
            elif term.kind == "bool":  # masked where unknown (``trusted`` of a fit that was not checked)
                table[label] = MaskedColumn([bool(v) for v in values], mask=[v is None for v in values], dtype=bool)
            else:
                table[label] = np.array(["" if v is None else str(v) for v in values], dtype=str) if values else np.array([], dtype=str)
        return table

    @property
    def fits(self):
        """The max-likelihood ``FitImaging`` of each fit, in order, rebuilt one at a time from its folder (by
        ``galaxyfit.analysis.reload.fit_imaging_from_folder``; the folders must still exist)."""
        from galaxyfit.analysis.reload import fit_imaging_from_folder

        return (fit_imaging_from_folder(record.folder) for record in self)

    # ---- writing ------------------------------------------------------------------------------------------------

    def add_directory(self, path, completed_only: bool = True):
        """Scrape the fit folders under ``path`` into this database (see ``scraper.scrape``): returns a
        ScrapeResult whose ``skipped`` lists ``(folder, reason)`` of folders that could not be read."""
        from galaxyfit.database.scraper import scrape

        return scrape(path, self.engine, completed_only=completed_only)

    def add_fit(self, folder):
        """Store one fit folder (see ``scraper.add_fit``)."""
        from galaxyfit.database.scraper import add_fit

        return add_fit(self.engine, folder)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<Aggregator on {describe(self.engine)}>"

    # ---- internals ----------------------------------------------------------------------------------------------

    def _replace(self, **changes) -> "Aggregator":
        state = dict(where=self._where, order=self._order, offset=self._offset, limit=self._limit)
        state.update(changes)
        return Aggregator(self.engine, **state)

    def _select(self, *columns):
        statement = sa.select(*columns).select_from(_FIT)
        for clause in self._where:
            statement = statement.where(clause)
        for term, descending in self._order:
            expression = term.expression()
            statement = statement.order_by((expression.desc() if descending else expression.asc()).nulls_last())
        statement = statement.order_by(_FIT.c.id)
        if self._offset:
            statement = statement.offset(self._offset)
        if self._limit is not None:
            statement = statement.limit(self._limit)
        return statement

    def _warn_unknown_paths(self, terms) -> None:
        """One UnknownPathWarning naming each parameter or latent path that no fit in the database has (a typo
        otherwise gives NaN or no fits, silently), with the closest known paths."""
        import difflib
        import warnings

        from galaxyfit.database.schema import PathName

        paths = sorted({t.path for t in terms if isinstance(t, QuantityTerm)})
        if not paths:
            return
        table = PathName.__table__
        known = set(self._scalars(sa.select(table.c.path).where(table.c.path.in_(paths))))
        for path in paths:
            if path not in known:
                candidates = self._scalars(sa.select(table.c.path))
                close = difflib.get_close_matches(path, candidates, n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                warnings.warn(f"no fit in {describe(self.engine)} has the path {path!r}, so its values are NaN and "
                              f"filters on it select nothing{hint}", UnknownPathWarning, stacklevel=3)

    def _rows(self, statement) -> list:
        try:
            with self.engine.connect() as connection:
                return connection.execute(statement).all()
        except DBAPIError as exc:
            raise DatabaseError(f"cannot query {describe(self.engine)}: {reason(exc)}") from None

    def _scalars(self, statement) -> list:
        try:
            with self.engine.connect() as connection:
                return connection.execute(statement).scalars().all()
        except DBAPIError as exc:
            raise DatabaseError(f"cannot query {describe(self.engine)}: {reason(exc)}") from None

    @staticmethod
    def _value_term(path, kind: str, latent: bool):
        if isinstance(path, (FitColumn, QuantityTerm)):
            return path
        if isinstance(path, PathBuilder):
            return QuantityTerm(path.path, kind, latent)
        if isinstance(path, str) and (":" in path or path in FIT_COLUMNS):
            return term_from_spec(path)
        if kind not in QUANTITIES:
            raise QueryError(f"unknown kind {kind!r} (known: {', '.join(QUANTITIES)})")
        return QuantityTerm(path, kind, latent)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


__all__ = ["Aggregator", "DEFAULT_COLUMNS", "Predicate"]
