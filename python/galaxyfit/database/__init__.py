"""The results database: every fit's metadata, parameters, latents, figures and model in one place -- a SQLite file
by default, a PostgreSQL server by URL -- queried the way autogalaxy users query PyAutoFit's aggregator.

- Writing: :func:`add_fit` (by the process that ran a fit, when it completes) or :func:`scrape` /
  ``Aggregator.add_directory`` (a tree of output folders, later). A running fit only writes its own folder.
- Reading: ``Aggregator.from_database(url)``; see ``galaxyfit.database.aggregator``.
- Command line: ``galaxyfit results DB [--scrape FOLDER] [--where ...] [--order-by ...] [--limit N] [--columns ...]``.

Modules: ``connection`` (URLs, engines, DatabaseError), ``schema`` (tables), ``scrape`` (folders -> rows),
``write`` (rows -> database), ``query`` (filters and terms), ``record`` (FitRecord), ``aggregator``, ``command``.
"""

from galaxyfit.database.aggregator import Aggregator, UnknownPathWarning
from galaxyfit.database.connection import DatabaseError, database_url, open_database
from galaxyfit.database.query import Predicate, QueryError, parse_where
from galaxyfit.database.record import FitRecord
from galaxyfit.database.scrape import FitRows, ScrapeResult, ScrapeWarning, add_fit, read_fit_folder, scrape
from galaxyfit.database.write import write_fits

__all__ = [
    "Aggregator",
    "DatabaseError",
    "FitRecord",
    "FitRows",
    "Predicate",
    "QueryError",
    "ScrapeResult",
    "ScrapeWarning",
    "add_fit",
    "database_url",
    "open_database",
    "parse_where",
    "read_fit_folder",
    "scrape",
    "write_fits",
    "UnknownPathWarning",
]
