"""``FitRecord``: one stored fit as the aggregator yields it. Light until asked: its parameters, latents, figures
and documents are read when first used, for the whole page of records it came with in one query, so iterating
10^5 fits and reading one thing from each costs a few hundred queries, not 10^5."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from galaxyfit.database.schema import QUANTITIES, Component, Document, Figure, Latent, Parameter, PathName


class RecordPage:
    """The fits of one page of an iteration; loads each kind of child row for all of them at once."""

    def __init__(self, engine, ids):
        self._engine = engine
        self._ids = list(ids)
        self._loaded: dict[str, dict] = {}

    def quantities(self, latent: bool) -> dict[int, dict[str, dict[str, float | None]]]:
        key = "latent" if latent else "parameter"
        if key not in self._loaded:
            t, p = (Latent if latent else Parameter).__table__, PathName.__table__
            stmt = (sa.select(t.c.fit_id, p.c.path, *(t.c[q] for q in QUANTITIES)).join(p, p.c.id == t.c.path_id)
                    .where(t.c.fit_id.in_(self._ids)).order_by(t.c.fit_id, p.c.path))
            out: dict[int, dict] = {i: {} for i in self._ids}
            for fit_id, path, *values in self._rows(stmt):
                out[fit_id][path] = dict(zip(QUANTITIES, values))
            self._loaded[key] = out
        return self._loaded[key]

    def components(self) -> dict[int, dict[str, str]]:
        if "component" not in self._loaded:
            c, p = Component.__table__, PathName.__table__
            stmt = (sa.select(c.c.fit_id, p.c.path, c.c.class_name).join(p, p.c.id == c.c.path_id)
                    .where(c.c.fit_id.in_(self._ids)).order_by(c.c.fit_id, p.c.path))
            out: dict[int, dict] = {i: {} for i in self._ids}
            for fit_id, path, class_name in self._rows(stmt):
                out[fit_id][path] = class_name
            self._loaded["component"] = out
        return self._loaded["component"]

    def figures(self) -> dict[int, dict[str, str]]:
        if "figure" not in self._loaded:
            f = Figure.__table__
            out: dict[int, dict] = {i: {} for i in self._ids}
            for fit_id, name, path in self._rows(sa.select(f.c.fit_id, f.c.name, f.c.path).where(f.c.fit_id.in_(self._ids)).order_by(f.c.fit_id, f.c.name)):
                out[fit_id][name] = path
            self._loaded["figure"] = out
        return self._loaded["figure"]

    def document(self, name: str) -> dict[int, str]:
        key = f"document:{name}"
        if key not in self._loaded:
            d = Document.__table__
            self._loaded[key] = dict(self._rows(sa.select(d.c.fit_id, d.c.text).where(d.c.fit_id.in_(self._ids), d.c.name == name)))
        return self._loaded[key]

    def _rows(self, stmt):
        with self._engine.connect() as connection:
            return connection.execute(stmt).all()


class FitRecord:
    """One stored fit. ``identifier``, ``folder`` (Path) and ``metadata`` (every ``fit`` column: name,
    path_prefix, search, dataset_name, version, created, is_complete, max_log_likelihood, log_evidence,
    log_evidence_error, chi_squared, n_free_parameters, pixels_in_mask, scraped) are at hand; the rest is read on
    first use."""

    __slots__ = ("_page", "_id", "metadata", "_parsed")

    def __init__(self, page: RecordPage, fit_id: int, metadata: dict):
        self._page = page
        self._id = fit_id
        self.metadata = metadata
        self._parsed: dict = {}

    @property
    def identifier(self) -> str:
        return self.metadata["identifier"]

    @property
    def folder(self) -> Path:
        """The fit's output folder, where it was when scraped."""
        return Path(self.metadata["folder"])

    @property
    def name(self) -> str | None:
        return self.metadata["name"]

    @property
    def search(self) -> str | None:
        """The search's name (the sampler, e.g. "nautilus")."""
        return self.metadata["search"]

    @property
    def is_complete(self) -> bool:
        return bool(self.metadata["is_complete"])

    @property
    def log_evidence(self) -> float | None:
        return self.metadata["log_evidence"]

    @property
    def max_log_likelihood(self) -> float | None:
        return self.metadata["max_log_likelihood"]

    @property
    def parameters(self) -> dict[str, dict[str, float | None]]:
        """``{path: {"max_log_likelihood", "median", "minus_1sigma", "plus_1sigma", "minus_3sigma",
        "plus_3sigma"}}``; errors are distances from the median (>= 0), in the parameter's units; None where missing."""
        return self._page.quantities(latent=False)[self._id]

    @property
    def latents(self) -> dict[str, dict[str, float | None]]:
        """The derived quantities of latent_summary.json, shaped as ``parameters`` (None where a value was NaN)."""
        return self._page.quantities(latent=True)[self._id]

    @property
    def components(self) -> dict[str, str]:
        """``{path: class name}`` of the model's components, e.g. ``{"galaxies.galaxy.bulge": "Sersic"}``."""
        return self._page.components()[self._id]

    @property
    def figures(self) -> dict[str, Path]:
        """``{name: absolute path}`` of the fit's ``image/*.png`` (name = file stem, e.g. ``"fit"``)."""
        return {name: self.folder / path for name, path in self._page.figures()[self._id].items()}

    def document(self, name: str) -> str | None:
        """The stored text of ``name`` ("model", "samples_summary", "settings", "search", "latent_summary"), or
        None if the folder had no such file."""
        return self._page.document(name).get(self._id)

    def _json(self, name: str):
        if name not in self._parsed:
            text = self.document(name)
            self._parsed[name] = None if text is None else json.loads(text)
        return self._parsed[name]

    @property
    def samples_summary(self) -> dict | None:
        """files/samples_summary.json, parsed."""
        return self._json("samples_summary")

    @property
    def latent_summary(self) -> dict | None:
        """files/latent/latent_summary.json, parsed (None if no latents were computed)."""
        return self._json("latent_summary")

    @property
    def settings(self) -> dict | None:
        """files/settings.json (the analysis settings), parsed."""
        return self._json("settings")

    @property
    def search_settings(self) -> dict | None:
        """files/search.json (the search's name and settings), parsed."""
        return self._json("search")

    @property
    def model(self):
        """The fit's model (``galaxyfit.model.Collection`` / ``Model``), rebuilt from the stored model.json.

        Raises ModelError if the stored model cannot be rebuilt (e.g. a class this galaxyfit does not know)."""
        from galaxyfit.model.model import Model

        text = self.document("model")
        return None if text is None else Model.from_json(text)

    @property
    def fit(self):
        """The max-likelihood ``FitImaging``, rebuilt from the files in the fit's folder (which must still exist)
        by ``galaxyfit.analysis.reload.fit_imaging_from_folder``."""
        from galaxyfit.analysis.reload import fit_imaging_from_folder

        return fit_imaging_from_folder(self.folder)

    def __repr__(self) -> str:
        return f"<FitRecord {self.identifier} {self.metadata.get('name')!r} ({self.search}) at {self.folder}>"
