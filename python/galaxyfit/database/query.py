"""Filters, orderings and columns of the results database, written as an autogalaxy user writes them.

``agg.model.galaxies.galaxy.bulge.sersic_index > 3`` compares the stored max-likelihood value of that parameter,
``agg.median....`` its posterior median, ``agg.latent....`` / ``agg.latent_median....`` a derived quantity of
``latent_summary.json``; ``agg.model.galaxies.galaxy.bulge == gf.lp.Sersic`` (or ``== "Sersic"``) selects by the
class of a model component; ``agg.search.log_evidence > x`` compares a fit's own column. Conditions combine with
``&``, ``|`` and ``~`` (Python's ``and``/``or``/``not`` cannot be overloaded and raise TypeError here).

A parameter condition becomes ``fit.id IN (SELECT fit_id FROM parameter WHERE path_id = <path> AND value > 3)``:
one range scan of the (path_id, value) index, however many fits the database holds.

The same terms can be named by text (``term_from_spec``), as the command line does: ``log_evidence`` (a fit
column), ``galaxies.galaxy.bulge.sersic_index`` (max-likelihood value), ``median:galaxies...``,
``plus_1sigma:galaxies...``, ``latent:galaxies.galaxy.total_flux``, ``latent.median:galaxies...``; and whole
filters by :func:`parse_where`: ``"galaxies.galaxy.bulge.sersic_index > 3 and (search == nautilus or not
log_evidence < 10)"``.
"""

from __future__ import annotations

import math
import operator
import re
from numbers import Real

import sqlalchemy as sa

from galaxyfit.errors import GalaxyfitError
from galaxyfit.database.schema import QUANTITIES, Component, Fit, Latent, Parameter, PathName

_FIT = Fit.__table__

#: Fit columns that can be filtered, ordered and shown (``signature`` is bookkeeping, ``id`` internal).
FIT_COLUMNS = tuple(c.name for c in _FIT.columns if c.name not in ("id", "signature"))

#: ``agg.search.<name>`` names that differ from the column: the search's name is the sampler ("nautilus"), as
#: in search.json; the fit's own name (metadata.json "name") is ``fit_name``.
SEARCH_ALIASES = {"name": "search", "fit_name": "name"}

_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}


class QueryError(GalaxyfitError, ValueError):
    """A filter, ordering or column that cannot be built: an unknown column, a comparison of a parameter with text,
    a malformed ``--where`` expression."""


class Predicate:
    """A condition on fits; combine with ``&``, ``|``, ``~`` and pass to ``Aggregator.query``. ``terms`` are the
    terms it compares (the command line shows them as columns)."""

    __slots__ = ("clause", "terms")

    def __init__(self, clause, terms=()):
        self.clause = clause
        self.terms = tuple(terms)

    def __and__(self, other):
        other = as_predicate(other)
        return Predicate(sa.and_(self.clause, other.clause), self.terms + other.terms)

    def __or__(self, other):
        other = as_predicate(other)
        return Predicate(sa.or_(self.clause, other.clause), self.terms + other.terms)

    def __invert__(self):
        return Predicate(sa.not_(self.clause), self.terms)

    __rand__ = __and__
    __ror__ = __or__

    def __bool__(self):
        raise TypeError("a filter has no truth value: combine filters with &, | and ~ (not and/or/not), with each "
                        "comparison in parentheses, and write a < x < b as (x > a) & (x < b)")

    def __repr__(self) -> str:
        return f"Predicate({self.clause.compile(compile_kwargs={'literal_binds': True})})"


def as_predicate(value) -> Predicate:
    """``value`` as a Predicate: a Predicate, or a boolean fit column (``agg.search.is_complete``) meaning true.

    Raises QueryError for anything else."""
    if isinstance(value, Predicate):
        return value
    if isinstance(value, FitColumn) and isinstance(value.column.type, sa.Boolean):
        return Predicate(value.column.is_(True), (value,))
    raise QueryError(f"not a filter: {value!r} (build one by comparing, e.g. agg.model.galaxies.galaxy.bulge.sersic_index > 3)")


class Term:
    """A value per fit: a fit column or a stored parameter/latent quantity. Comparing it makes a Predicate;
    ``expression()`` is its value as a SQL expression over the ``fit`` table (for ordering and columns)."""

    label: str
    kind = "float"  # how a table column holds it: "float", "int", "bool" or "str"

    def expression(self):
        raise NotImplementedError

    def compare(self, op: str, value) -> Predicate:
        raise NotImplementedError

    def __gt__(self, value):
        return self.compare(">", value)

    def __ge__(self, value):
        return self.compare(">=", value)

    def __lt__(self, value):
        return self.compare("<", value)

    def __le__(self, value):
        return self.compare("<=", value)

    def __eq__(self, value):
        return self.compare("==", value)

    def __ne__(self, value):
        return self.compare("!=", value)

    __hash__ = None

    def __bool__(self):
        raise TypeError(f"{self.label} has no truth value here: compare it (e.g. > 3) and combine with &, |, ~")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


class FitColumn(Term):
    """A column of the ``fit`` table (``agg.search.log_evidence``)."""

    def __init__(self, name: str):
        if name not in FIT_COLUMNS:
            raise QueryError(f"no fit column {name!r} (known: {', '.join(FIT_COLUMNS)})")
        self.label = name
        self.column = _FIT.c[name]
        python = self.column.type.python_type
        self.kind = {bool: "bool", int: "int", float: "float"}.get(python, "str")

    def expression(self):
        return self.column

    def compare(self, op: str, value) -> Predicate:
        if op not in _OPERATORS:
            raise QueryError(f"unknown comparison {op!r}")
        if value is None:
            if op not in ("==", "!="):
                raise QueryError(f"{self.label} {op} None: only == and != compare with None (a missing value)")
            return Predicate(self.column.is_(None) if op == "==" else self.column.is_not(None), (self,))
        value = self._checked(value)
        # A NULL (missing) value satisfies no comparison, and so its negation with ~ does.
        return Predicate(sa.and_(self.column.is_not(None), _OPERATORS[op](self.column, value)), (self,))

    def in_(self, values) -> Predicate:
        """Fits whose column is one of ``values``."""
        return Predicate(self.column.in_([self._checked(v) for v in values]), (self,))

    def like(self, pattern: str) -> Predicate:
        """Fits whose text column matches the SQL pattern (``%`` any text, ``_`` one character)."""
        if self.kind != "str":
            raise QueryError(f"{self.label} is not text; like() matches text columns")
        return Predicate(self.column.like(pattern), (self,))

    def __invert__(self):
        return ~as_predicate(self)

    def _checked(self, value):
        if self.kind == "str":
            if not isinstance(value, str):
                raise QueryError(f"{self.label} is text; compare it with a string, not {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise QueryError(f"{self.label} is true or false; compare it with True or False, not {value!r}")
            return value
        return _real(value, self.label)


class QuantityTerm(Term):
    """One stored quantity (``max_log_likelihood``, ``median``, ``minus_1sigma``, ...) of a parameter (table
    ``parameter``) or latent (table ``latent``) path."""

    def __init__(self, path: str, quantity: str = "max_log_likelihood", latent: bool = False):
        if quantity not in QUANTITIES:
            raise QueryError(f"unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})")
        if not isinstance(path, str) or not path:
            raise QueryError(f"a parameter path must be a non-empty string, got {path!r}")
        self.path, self.quantity, self.latent = path, quantity, latent
        self.table = (Latent if latent else Parameter).__table__
        prefix = ("latent" + ("" if quantity == "max_log_likelihood" else f".{quantity}")) if latent else (
            "" if quantity == "max_log_likelihood" else quantity)
        self.label = f"{prefix}:{path}" if prefix else path

    def expression(self):
        t = self.table
        return (sa.select(t.c[self.quantity]).where(t.c.fit_id == _FIT.c.id, t.c.path_id == path_id(self.path))
                .scalar_subquery().label(self.label))

    def compare(self, op: str, value) -> Predicate:
        if op not in _OPERATORS:
            raise QueryError(f"unknown comparison {op!r}")
        value = _real(value, self.label)
        t = self.table
        matching = sa.select(t.c.fit_id).where(t.c.path_id == path_id(self.path), _OPERATORS[op](t.c[self.quantity], value))
        return Predicate(_FIT.c.id.in_(matching), (self,))


def path_id(path: str):
    """The id of ``path`` in the ``path`` table, as a scalar subquery (NULL when no fit has that path)."""
    p = PathName.__table__
    return sa.select(p.c.id).where(p.c.path == path).scalar_subquery()


def component_predicate(path: str, cls, negate: bool = False) -> Predicate:
    """Fits whose model component at ``path`` is of class ``cls`` (a galaxyfit class or its model-file name, e.g.
    ``gf.lp.Sersic``, ``"Sersic"``, ``"linear.Sersic"``)."""
    if isinstance(cls, type):
        from galaxyfit.model.model import class_name

        try:
            cls = class_name(cls)
        except GalaxyfitError as exc:
            raise QueryError(f"{path} == {cls!r}: {exc}") from None
    c = Component.__table__
    matching = sa.select(c.c.fit_id).where(c.c.path_id == path_id(path), c.c.class_name == cls)
    clause = _FIT.c.id.in_(matching)
    return Predicate(sa.not_(clause) if negate else clause)


class PathBuilder:
    """``agg.model.galaxies.galaxy.bulge.sersic_index``: each attribute extends the path; comparing with a number
    filters on the stored quantity, comparing with a class (or class name) filters on the component's class.
    ``builder["ell_comps_0"]`` extends by a name that is not an identifier."""

    __slots__ = ("_parts", "_quantity", "_latent")

    def __init__(self, parts=(), quantity: str = "max_log_likelihood", latent: bool = False):
        object.__setattr__(self, "_parts", tuple(parts))
        object.__setattr__(self, "_quantity", quantity)
        object.__setattr__(self, "_latent", latent)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return PathBuilder(self._parts + (name,), self._quantity, self._latent)

    def __getitem__(self, name: str):
        return PathBuilder(self._parts + tuple(str(name).split(".")), self._quantity, self._latent)

    def __setattr__(self, name, value):
        raise AttributeError("a query path is read-only")

    @property
    def path(self) -> str:
        if not self._parts:
            raise QueryError("name a parameter path, e.g. agg.model.galaxies.galaxy.bulge.sersic_index")
        return ".".join(self._parts)

    def term(self) -> QuantityTerm:
        return QuantityTerm(self.path, self._quantity, self._latent)

    @property
    def label(self) -> str:
        return self.term().label

    def expression(self):
        return self.term().expression()

    def _compare(self, op: str, value) -> Predicate:
        if isinstance(value, (type, str)) and op in ("==", "!="):
            if self._latent or self._quantity != "max_log_likelihood":
                raise QueryError(f"{self.path}: compare classes through agg.model, not agg.median or agg.latent")
            return component_predicate(self.path, value, negate=op == "!=")
        return self.term().compare(op, value)

    def __gt__(self, value):
        return self._compare(">", value)

    def __ge__(self, value):
        return self._compare(">=", value)

    def __lt__(self, value):
        return self._compare("<", value)

    def __le__(self, value):
        return self._compare("<=", value)

    def __eq__(self, value):
        return self._compare("==", value)

    def __ne__(self, value):
        return self._compare("!=", value)

    __hash__ = None

    def __bool__(self):
        raise TypeError(f"{'.'.join(self._parts)} has no truth value: compare it (e.g. > 3) and combine with &, |, ~")

    def __repr__(self) -> str:
        return f"<query path {'.'.join(self._parts) or '(root)'} ({'latent ' if self._latent else ''}{self._quantity})>"


class SearchNamespace:
    """``agg.search.<column>``: the fit table's columns, with ``name`` the search's name (the sampler, e.g.
    ``"nautilus"``, as in search.json) and ``fit_name`` the fit's own name (metadata.json ``name``)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> FitColumn:
        if name.startswith("_"):
            raise AttributeError(name)
        return FitColumn(SEARCH_ALIASES.get(name, name))

    def __dir__(self):
        return sorted(set(FIT_COLUMNS) | set(SEARCH_ALIASES))


def as_term(value) -> Term:
    """A Term from a Term, a PathBuilder or text (``term_from_spec``). Raises QueryError otherwise."""
    if isinstance(value, Term):
        return value
    if isinstance(value, PathBuilder):
        return value.term()
    if isinstance(value, str):
        return term_from_spec(value)
    raise QueryError(f"not a column: {value!r}")


def term_from_spec(spec: str) -> Term:
    """The term named by text: a fit column (``log_evidence``); a parameter path (its max-likelihood value); or
    ``QUANTITY:PATH`` (``median:...``, ``plus_1sigma:...``); ``latent:PATH`` and ``latent.QUANTITY:PATH`` for
    latents. Raises QueryError for an unknown name."""
    spec = spec.strip()
    if ":" in spec:
        prefix, path = (part.strip() for part in spec.split(":", 1))
        latent = prefix == "latent" or prefix.startswith(("latent.", "latent_"))
        quantity = prefix[len("latent") + 1:] if latent and prefix != "latent" else ("max_log_likelihood" if latent else prefix)
        quantity = {"ml": "max_log_likelihood"}.get(quantity, quantity)
        if quantity not in QUANTITIES:
            raise QueryError(f"{spec!r}: unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)}, each "
                             "optionally after 'latent.')")
        return QuantityTerm(path, quantity, latent)
    if spec in FIT_COLUMNS:
        return FitColumn(spec)
    if "." in spec:
        return QuantityTerm(spec)
    raise QueryError(f"unknown column {spec!r}: fit columns are {', '.join(FIT_COLUMNS)}; parameter paths contain "
                     "dots (galaxies.galaxy.bulge.sersic_index)")


# ---- the text form of filters (command line, Aggregator.where) ---------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<op>>=|<=|==|!=|=|>|<)|(?P<punct>[()&|~])|(?P<string>'[^']*'|"[^"]*")|(?P<word>[^\s()<>=!&|~'"]+))""")
_KEYWORDS = {"and": "&", "or": "|", "not": "~"}


def parse_where(text: str) -> Predicate:
    """The filter written in ``text``: comparisons ``TERM OP VALUE`` (``OP`` one of ``> >= < <= == = !=``; ``TERM``
    as ``term_from_spec``), joined by ``and``/``or``/``not`` (or ``& | ~``) and parentheses. A value is a number,
    ``true``/``false``, ``none``, or text (quoted, or a bare word); a parameter path compared with text
    (``galaxies.galaxy.bulge == Sersic``) selects by component class.

    Raises QueryError naming the problem and where it is."""
    tokens = _tokenize(text)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else (None, None)

    def take(expected_kind=None):
        nonlocal position
        kind, value = peek()
        if kind is None:
            raise QueryError(f"{text!r}: ends too early")
        if expected_kind is not None and kind != expected_kind:
            raise QueryError(f"{text!r}: expected {expected_kind}, got {value!r}")
        position += 1
        return kind, value

    def expression():
        left = conjunction()
        while peek() == ("punct", "|"):
            take()
            left = left | conjunction()
        return left

    def conjunction():
        left = negation()
        while peek() == ("punct", "&"):
            take()
            left = left & negation()
        return left

    def negation():
        if peek() == ("punct", "~"):
            take()
            return ~negation()
        if peek() == ("punct", "("):
            take()
            inner = expression()
            if peek() != ("punct", ")"):
                raise QueryError(f"{text!r}: missing ')'")
            take()
            return inner
        return comparison()

    def comparison():
        _, name = take("word")
        kind, op = peek()
        if kind != "op":
            raise QueryError(f"{text!r}: expected a comparison (> >= < <= == !=) after {name!r}")
        take()
        kind, raw = take()
        if kind not in ("word", "string"):
            raise QueryError(f"{text!r}: expected a value after {name} {op}, got {raw!r}")
        return _comparison(name, "==" if op == "=" else op, _value(raw, quoted=kind == "string"), raw)

    if not tokens:
        raise QueryError("empty filter")
    result = expression()
    if position != len(tokens):
        raise QueryError(f"{text!r}: unexpected {tokens[position][1]!r}")
    return result


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = str(text)
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"{text!r}: cannot read {text[position:].strip()!r}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "punct", _KEYWORDS[value.lower()]
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _value(raw: str, quoted: bool):
    if quoted:
        return raw[1:-1]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return float(raw)
    except ValueError:
        return raw


def _comparison(name: str, op: str, value, raw: str) -> Predicate:
    if isinstance(value, str) and ":" not in name and "." in name and name not in FIT_COLUMNS:
        return PathBuilder(tuple(name.split(".")))._compare(op, value)
    term = term_from_spec(name)
    if isinstance(term, FitColumn) and term.kind == "str" and isinstance(value, (float, bool)):
        value = raw  # a bare word that looks like a number or boolean, e.g. dataset_name == 1234
    return term.compare(op, value)


def _real(value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise QueryError(f"{label} is a number; compare it with a number, not {value!r}")
    value = float(value)
    if math.isnan(value):
        raise QueryError(f"{label}: comparisons with NaN select nothing; missing values are filtered with == None")
    return value
