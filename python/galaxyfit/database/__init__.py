"""The results database: every fit's metadata, parameters, latents, figures and model in one place -- a SQLite file
by default, a PostgreSQL server by URL -- queried the way autogalaxy users query PyAutoFit's aggregator.

- Writing: :func:`add_fit` (by the process that ran a fit, when it completes) or :func:`scrape` /
  ``Aggregator.add_directory`` (a tree of output folders, later). A running fit only writes its own folder.
- Reading: ``Aggregator.from_database(url)``; see ``galaxyfit.database.aggregator``.
- Command line: ``galaxyfit results DB [--scrape FOLDER] [--where ...] [--order-by ...] [--limit N] [--columns ...]``.

Modules: ``connection`` (URLs, engines, DatabaseError), ``schema`` (tables), ``scraper`` (folders -> rows),
``write`` (rows -> database), ``query`` (filters and terms), ``record`` (FitRecord), ``aggregator``, ``command``.
"""

import importlib

#: Public name -> module (imported when first used: ``galaxyfit results --help`` need not load SQLAlchemy).
_EXPORTS = {
    "Aggregator": "aggregator", "UnknownPathWarning": "aggregator",
    "DatabaseError": "connection", "database_url": "connection", "open_database": "connection",
    "Predicate": "query", "QueryError": "query", "parse_where": "query",
    "FitRecord": "record",
    "FitRows": "scraper", "ScrapeResult": "scraper", "ScrapeWarning": "scraper", "add_fit": "scraper",
    "read_fit_folder": "scraper", "scrape": "scraper",
    "write_fits": "write",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'galaxyfit.database' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"galaxyfit.database.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
