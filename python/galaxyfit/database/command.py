"""``galaxyfit results DB [--scrape FOLDER] [--where EXPR] [--order-by COLUMN] [--limit N] [--columns A,B]``:
print a table of the fits in a results database."""

from __future__ import annotations

import argparse
import sys
import warnings

#: Columns shown when --columns is not given (plus every column --where and --order-by name).
SHOWN_COLUMNS = ("identifier", "name", "search", "dataset_name", "max_log_likelihood", "log_evidence")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``results`` on the ``galaxyfit`` command's subparsers."""
    p = subparsers.add_parser(
        "results", help="print a table of the fits in a results database (SQLite file or PostgreSQL URL)",
        description="Print the fits stored in a results database. Columns are fit columns (identifier, name, search, "
                    "dataset_name, path_prefix, is_complete, max_log_likelihood, log_evidence, log_evidence_error, "
                    "chi_squared, n_free_parameters, created, folder, ...) or parameter paths: "
                    "galaxies.galaxy.bulge.sersic_index (max-likelihood value), median:PATH, minus_1sigma:PATH, "
                    "plus_1sigma:PATH (also _3sigma), latent:PATH, latent.median:PATH.")
    p.add_argument("database", help="SQLite file, or a URL such as postgresql://user@host:5432/db")
    p.add_argument("--scrape", action="append", default=[], metavar="FOLDER",
                   help="first add the finished fits under FOLDER (repeatable; creates the SQLite file if missing)")
    p.add_argument("--include-unfinished", action="store_true",
                   help="with --scrape, also add fits without their .completed marker")
    p.add_argument("--where", action="append", default=[], metavar="EXPR",
                   help="a filter, e.g. \"galaxies.galaxy.bulge.sersic_index>3\", \"search==nautilus and "
                        "log_evidence>100\", \"galaxies.galaxy.bulge==Sersic\" (and/or/not, parentheses); repeated "
                        "filters must all hold")
    p.add_argument("--order-by", metavar="COLUMN", help="sort by a column; \"COLUMN desc\" (or --order-by=-COLUMN) "
                                                        "for descending")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="show at most N fits")
    p.add_argument("--columns", metavar="A,B,...", help="comma-separated columns to show (default: identifier, name, "
                                                       "search, dataset_name, max_log_likelihood, log_evidence and "
                                                       "the columns named by --where and --order-by)")
    p.add_argument("--format", choices=("table", "csv", "ecsv"), default="table",
                   help="table (default, for reading), csv or ecsv (for other programs)")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    """Scrape (if asked), query and print. Raises DatabaseError / QueryError (galaxyfit errors: the command prints
    them and exits with status 2)."""
    from galaxyfit.database.aggregator import Aggregator
    from galaxyfit.database.query import as_term, parse_where
    from galaxyfit.database.scraper import ScrapeWarning, scrape

    if args.scrape:
        for folder in args.scrape:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScrapeWarning)  # listed below, one line per folder
                result = scrape(folder, args.database, completed_only=not args.include_unfinished)
            print(f"{folder}: {result}", file=sys.stderr)
    agg = Aggregator.from_database(args.database, create=False)
    try:
        shown = []
        for text in args.where:
            predicate = parse_where(text)
            agg = agg.query(predicate)
            shown += [term.label for term in predicate.terms]
        if args.order_by:
            column, descending = _order(args.order_by)
            agg = agg.order_by(column, descending=descending)
            shown.append(as_term(column).label)
        total = len(agg)
        if args.limit is not None:
            agg = agg[:args.limit]
        if args.columns:
            columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        else:
            columns = list(dict.fromkeys([*SHOWN_COLUMNS, *shown]))
        table = agg.table(columns)
        if args.format == "table":
            print("\n".join(table.pformat(max_lines=-1, max_width=-1)) if len(table) else "(no fits)")
            print(f"{len(table)} of {total} fits" if len(table) < total else f"{total} fit{'s' if total != 1 else ''}")
        else:
            for column in table.itercols():
                column.format = None  # every digit for other programs; the table view rounds to 6
            table.write(sys.stdout, format=f"ascii.{args.format}")
    finally:
        agg.close()
    return 0


def _order(text: str) -> tuple[str, bool]:
    text = text.strip()
    words = text.split()
    if len(words) == 2 and words[1].lower() in ("desc", "asc"):
        return words[0], words[1].lower() == "desc"
    if text.startswith("-"):
        return text[1:], True
    return text, False
