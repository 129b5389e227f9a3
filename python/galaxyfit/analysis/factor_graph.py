"""Joint fits of several datasets (bands): PyAutoFit's ``AnalysisFactor`` and ``FactorGraphModel``, fitted as one
analysis.

    model_g = model                          # the single-band model
    model_r = copy.deepcopy(model)           # PyAutoFit's model.copy(): every prior kept (shared with the g band)
    model_r.galaxies.galaxy.bulge.intensity = UniformPrior(0.0, 10.0)   # a prior of its own: free in r alone
    graph = FactorGraphModel(AnalysisFactor(model_g, AnalysisImaging(g)), AnalysisFactor(model_r, AnalysisImaging(r)))
    results = search.fit(model=graph.global_prior_model, analysis=graph)   # one result per band
    results[1].max_log_likelihood_fit                                       # the r band's fit

Priors are shared as PyAutoFit shares them (``autofit.mapper.prior.abstract.Prior.__eq__``): two priors are one
parameter when they are the same object *or* have the same ``id`` -- a deep copy of a model keeps its priors' ids,
so a copied model shares every parameter with the original until one of its attributes is given a new prior.
``graph.global_prior_model`` is a ``Collection`` with one entry per factor (``analysis_0``, ``analysis_1``, ...;
a factor's ``name`` where given) whose copies of the factors' models hold one prior object per shared parameter: its
vector has one entry per distinct prior, and its instance holds one instance per factor.

The graph is an analysis: ``log_likelihood_function(instance)`` is the sum of the factors' log likelihoods (the
bands are independent given the model, so their likelihoods multiply), a pure JAX function of the instance that
``FitProblem`` jit-compiles and vmaps whole; a model that one band rejects is rejected (-1e99) by the graph, with
that band's reason. Each band keeps its own dataset, PSF, noise map, mask, pixel scale and settings.

Outputs follow PyAutoFit's layout for a graph (``FactorGraphModel._for_each_analysis``): each factor's analysis
writes its own outputs (``save_attributes``, ``save_results``) into ``analyses/analysis_<i>/`` of the fit's folder
(PyAutoFit puts that folder beside the fit's; here it is inside it, so one fit is one folder), and
``save_results_combined`` writes the joint samples, summary and covariance at the top, which is what a completed
fit is read back from.
"""

from __future__ import annotations

import copy
import json

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit._precision import float64_api
from galaxyfit import _precision as precision
from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD
from galaxyfit.errors import ModelError
from galaxyfit.model.model import Collection, _Node
from galaxyfit.paths import OutputPaths
from galaxyfit.search.result import Result
from galaxyfit.search.samples import Samples

#: Parameters ``graph_from_datasets`` gives a prior of their own in every band (all others are shared): amplitudes
#: and the sky, which differ between bands, and a per-band astrometric offset.
PER_BAND_PARAMETERS = ("intensity", "background_sky_level", "grid_offset")


@float64_api
class AnalysisFactor:
    """One dataset's analysis with the model it fits (PyAutoFit's ``af.AnalysisFactor``).

    Parameters
    ----------
    prior_model : Model or Collection
        The model of this dataset; priors it shares (by object or by ``id``, as a deep copy keeps them) with another
        factor's model are one parameter of the graph.
    analysis : AnalysisImaging or any analysis with ``log_likelihood_function(instance)``
    name : str or None
        The factor's entry in ``FactorGraphModel.global_prior_model`` (and the prefix of its parameter names);
        ``analysis_<i>`` (its position in the graph) when None.

    Raises ModelError for a ``prior_model`` that is not a model and TypeError for an analysis without a
    ``log_likelihood_function``.
    """

    def __init__(self, prior_model, analysis, name: str | None = None):
        if not isinstance(prior_model, _Node):
            raise ModelError(f"AnalysisFactor(prior_model=...): needs a galaxyfit Model or Collection, got "
                             f"{type(prior_model).__name__}")
        if not hasattr(analysis, "log_likelihood_function"):
            raise TypeError(f"AnalysisFactor(analysis=...): needs an analysis such as galaxyfit.AnalysisImaging(dataset), "
                            f"got {type(analysis).__name__}")
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise ModelError(f"AnalysisFactor(name={name!r}): must be a Python identifier (it names the factor's "
                             "parameters, e.g. 'g_band')")
        self.prior_model = prior_model
        self.analysis = analysis
        self._name = name

    @property
    def name(self) -> str | None:
        return self._name

    def log_likelihood_function(self, instance):
        """This factor's log likelihood of its own instance (its analysis')."""
        return self.analysis.log_likelihood_function(instance)

    def __repr__(self) -> str:
        return f"AnalysisFactor({self.prior_model!r}, {type(self.analysis).__name__}, name={self._name!r})"


def _global_model(names: list[str], models: list) -> Collection:
    """``Collection(name=copy of model, ...)`` in which priors equal by object or by ``id`` are one object (the first
    met), so ``Model``'s walk (which tells parameters apart by object) counts a shared parameter once. The copies are
    deep copies whose priors are mapped to those objects (``copy.deepcopy``'s memo)."""
    canonical: dict[int, object] = {}
    entries = {}
    for name, model in zip(names, models):
        memo = {id(prior): canonical.setdefault(prior.id, prior) for prior in model.priors}
        entries[name] = copy.deepcopy(model, memo)
    return Collection(**entries)


def _subsamples(samples: Samples, indices: list[int], names: list[str]) -> Samples:
    """The columns ``indices`` of ``samples`` named ``names`` (PyAutoFit's ``samples.subsamples(model)``): the same
    points, weights, (joint) log likelihoods and evidence."""
    global_names = list(samples.parameter_names)
    unconstrained = [names[k] for k, i in enumerate(indices) if global_names[i] in set(samples.unconstrained)]
    return Samples(samples.parameters[:, indices], samples.log_likelihood, samples.weights, list(names),
                   samples.log_evidence, samples.log_evidence_error, dict(samples.info), unconstrained)


class _FactorPaths(OutputPaths):
    """A factor's folder ``analyses/analysis_<i>`` inside the fit's folder (PyAutoFit's ``for_sub_analysis``)."""

    def __init__(self, parent: OutputPaths, index: int):
        super().__init__(parent.output_path, parent.name, parent.identifier, parent.path_prefix, identity=None)
        self.parent = parent
        self.index = int(index)

    @property
    def folder(self):
        return self.parent.folder / "analyses" / f"analysis_{self.index}"


@float64_api
class FactorGraphModel:
    """Several datasets fitted together (PyAutoFit's ``af.FactorGraphModel``), as one analysis of the model
    ``global_prior_model``.

    Parameters
    ----------
    *model_factors : AnalysisFactor
        One per dataset (band).
    name : str or None
        A label (``repr``, ``metadata.json``).

    Raises ModelError without factors, for an argument that is not an ``AnalysisFactor`` and for two factors of
    one name.

    ``search.fit(model=graph.global_prior_model, analysis=graph)`` returns a ``CombinedResult``: a list of one
    result per factor (each its analysis' ``make_result`` of the factor's model and of the joint samples' columns
    of its parameters), with the joint samples, model and evidence.
    """

    #: Quick updates of every factor are drawn on a background thread when each factor's analysis allows it.
    @property
    def supports_background_update(self) -> bool:
        return all(getattr(f.analysis, "supports_background_update", False) for f in self._model_factors)

    def __init__(self, *model_factors: AnalysisFactor, name: str | None = None):
        if not model_factors:
            raise ModelError("FactorGraphModel() needs at least one AnalysisFactor")
        for i, factor in enumerate(model_factors):
            if not isinstance(factor, AnalysisFactor):
                raise ModelError(f"FactorGraphModel argument {i}: needs an AnalysisFactor(prior_model, analysis), got "
                                 f"{type(factor).__name__}")
        names = [f.name if f.name is not None else f"analysis_{i}" for i, f in enumerate(model_factors)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ModelError(f"FactorGraphModel: two factors are named {', '.join(duplicates)}; factor names must differ")
        self._model_factors = list(model_factors)
        self.names = names
        self._name = name or "FactorGraphModel"
        self._global_prior_model = None
        self._fitted_model = None

    # ---- the model ------------------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def model_factors(self) -> list[AnalysisFactor]:
        return list(self._model_factors)

    @property
    def global_prior_model(self) -> Collection:
        """``Collection(<factor name>=<its model>, ...)`` with shared priors as one parameter (module docstring);
        built at the first call from the factors' models as they are then, and the same object afterwards."""
        if self._global_prior_model is None:
            self._global_prior_model = _global_model(self.names, [f.prior_model for f in self._model_factors])
        return self._global_prior_model

    @property
    def prior_model(self) -> Collection:
        """The same as ``global_prior_model`` (PyAutoFit names both)."""
        return self.global_prior_model

    def factor_models(self, model) -> list:
        """Each factor's part of ``model`` (a global model of this graph), in factor order. Raises ModelError for a
        model that is not one."""
        attributes = getattr(model, "_attributes", None)
        if not isinstance(model, Collection) or attributes is None or list(attributes) != self.names:
            raise ModelError(f"a FactorGraphModel fits its own global model: search.fit(model=graph.global_prior_model, "
                             f"analysis=graph) (a Collection of {', '.join(self.names)}), got {model!r}")
        return [attributes[name] for name in self.names]

    def factor_indices(self, model) -> list[list[int]]:
        """For each factor, the positions in ``model``'s parameter vector of its model's parameters (its order)."""
        position = {id(prior): i for i, prior in enumerate(model.priors)}
        return [[position[id(prior)] for prior in sub.priors] for sub in self.factor_models(model)]

    def factor_instances(self, instance) -> list:
        """Each factor's instance in an instance of the global model, in factor order."""
        return [getattr(instance, name) for name in self.names]

    @property
    def info(self) -> str:
        """The global model's parameters, each factor's and which are shared."""
        model = self.global_prior_model
        counts: dict[int, int] = {}
        for sub in self.factor_models(model):
            for prior in sub.priors:
                counts[id(prior)] = counts.get(id(prior), 0) + 1
        shared = [name for name, prior in zip(model.parameter_names, model.priors) if counts[id(prior)] > 1]
        lines = [f"{self.name}: {len(self._model_factors)} factors, {model.prior_count} free parameters, "
                 f"{len(shared)} shared by several factors", ""]
        lines += [f"shared: {name}" for name in shared]
        return "\n".join(lines) + "\n\n" + model.info

    def __repr__(self) -> str:
        return f"FactorGraphModel({', '.join(self.names)})"

    # ---- the likelihood ---------------------------------------------------------------------------------------------------

    def log_likelihood_and_rejection(self, instance):
        """(sum of the factors' log likelihoods, why it was rejected: the first rejecting factor's code, 0 when none
        rejects). A factor that rejects makes the sum ``INVALID_LOG_LIKELIHOOD`` (-1e99), as one dataset does
        (``AnalysisImaging.log_likelihood_and_rejection``); a factor without codes rejects a non-finite value or one
        at or below -1e99 (code -1). Pure JAX: jit, vmap and differentiate it."""
        values, codes = [], []
        for factor, sub in zip(self._model_factors, self.factor_instances(instance)):
            analysis = factor.analysis
            if hasattr(analysis, "log_likelihood_and_rejection"):
                value, code = analysis.log_likelihood_and_rejection(sub)
            else:
                value = analysis.log_likelihood_function(sub)
                code = jnp.where(jnp.isfinite(value) & (value > INVALID_LOG_LIKELIHOOD), 0, -1)
            values.append(jnp.asarray(value, dtype=jnp.float64))
            codes.append(jnp.asarray(code, dtype=jnp.int32))
        total = values[0]
        for value in values[1:]:
            total = total + value
        code = codes[-1]
        for earlier in reversed(codes[:-1]):
            code = jnp.where(earlier != 0, earlier, code)
        value = jnp.where(code == 0, jnp.maximum(total, INVALID_LOG_LIKELIHOOD), INVALID_LOG_LIKELIHOOD)
        return value, jax.lax.stop_gradient(code).astype(jnp.int32)

    def log_likelihood_function(self, instance):
        """ln L of an instance of ``global_prior_model``: the sum of each factor's analysis' log likelihood of its
        own instance (PyAutoFit's ``FactorGraphModel.log_likelihood_function``); -1e99 when any factor rejects it."""
        return self.log_likelihood_and_rejection(instance)[0]

    def normalized_residuals_function(self, instance):
        """(every factor's normalized residuals (data - model) / noise over its unmasked pixels, concatenated in
        factor order, shape (sum of pixels_in_mask,); validity: all factors'). chi^2 of the graph is their sum of
        squares, the sum of the bands' chi^2 (Levenberg-Marquardt minimises it). Raises TypeError naming a factor
        whose analysis has no residuals."""
        residuals, valid = [], jnp.asarray(True)
        for name, factor, sub in zip(self.names, self._model_factors, self.factor_instances(instance)):
            if not hasattr(factor.analysis, "normalized_residuals_function"):
                raise TypeError(f"factor {name}: its {type(factor.analysis).__name__} has no normalized residuals, "
                                "so a least-squares search cannot fit this graph")
            r, ok = factor.analysis.normalized_residuals_function(sub)
            residuals.append(r)
            valid = valid & ok
        return jnp.concatenate(residuals), valid

    def figure_of_merit_is_evidence(self, instance) -> bool:
        """Whether any factor's figure of merit is a regularized log evidence (least squares does not apply)."""
        return any(bool(f.analysis.figure_of_merit_is_evidence(sub))
                   for f, sub in zip(self._model_factors, self.factor_instances(instance))
                   if hasattr(f.analysis, "figure_of_merit_is_evidence"))

    def batch_chunk_size(self, model) -> int | None:
        """The smallest batch chunk any factor asks for (``AnalysisImaging.batch_chunk_size``: 1 with linear
        objects), or None (one vmap over the batch) when none asks."""
        chunks = [f.analysis.batch_chunk_size(sub) for f, sub in zip(self._model_factors, self.factor_models(model))
                  if hasattr(f.analysis, "batch_chunk_size")]
        chunks = [c for c in chunks if c is not None]
        return min(chunks) if chunks else None

    # ---- what paths.fit_identity hashes ------------------------------------------------------------------------------

    @property
    def settings(self) -> dict:
        """{factor name: its analysis' identity (dataset content digests, settings, adapt images, cosmology;
        ``galaxyfit.paths.analysis_identity``)}: what makes the fit's identifier differ for other data in any band."""
        from galaxyfit.paths import analysis_identity

        return {name: analysis_identity(f.analysis) for name, f in zip(self.names, self._model_factors)}

    @property
    def dataset_name(self) -> str | None:
        """The factors' dataset names joined by '+', when each has one."""
        names = [getattr(f.analysis, "dataset_name", None) for f in self._model_factors]
        return "+".join(str(n) for n in names) if all(n is not None for n in names) else None

    # ---- lifecycle around a search (PyAutoFit's names) ---------------------------------------------------------------

    def modify_model(self, model):
        """Each factor's ``modify_model`` of its part of ``model``; the global model rebuilt from their answers when
        any changed it (e.g. ``AnalysisImaging.with_model``). Raises ModelError for a model that is not this graph's."""
        parts = self.factor_models(model)
        modified = [f.analysis.modify_model(sub) if hasattr(f.analysis, "modify_model") else sub
                    for f, sub in zip(self._model_factors, parts)]
        if all(new is old for new, old in zip(modified, parts)):
            return model
        return _global_model(self.names, modified)

    def modify_before_fit(self, model) -> "FactorGraphModel":
        """Each factor's ``modify_before_fit`` of its part of ``model`` (checks and caching)."""
        for factor, sub in zip(self._model_factors, self.factor_models(model)):
            if hasattr(factor.analysis, "modify_before_fit"):
                factor.analysis.modify_before_fit(sub)
        self._fitted_model = model
        return self

    def make_result(self, samples, model, search: dict, timing: dict | None = None, covariance=None) -> "CombinedResult":
        """A ``CombinedResult``: for each factor its analysis' ``make_result`` of the factor's model, the joint
        samples' columns of its parameters (their log likelihoods and evidence are the joint ones, as in
        PyAutoFit's ``samples.subsamples``) and that block of ``covariance``; with the joint samples."""
        children = []
        for factor, sub, indices in zip(self._model_factors, self.factor_models(model), self.factor_indices(model)):
            sub_samples = _subsamples(samples, indices, sub.parameter_names)
            sub_covariance = None if covariance is None else np.asarray(covariance)[np.ix_(indices, indices)]
            children.append(factor.analysis.make_result(sub_samples, sub, search, timing=timing, covariance=sub_covariance))
        return CombinedResult(children, model, self, samples, search, timing=timing, covariance=covariance)

    def modify_after_fit(self, result) -> "FactorGraphModel":
        """Each factor's ``modify_after_fit`` of its result; a result written to a folder gives each factor's result
        its ``analyses/analysis_<i>`` paths."""
        paths = getattr(result, "paths", None)
        for i, (factor, child) in enumerate(zip(self._model_factors, result)):
            if paths is not None:
                child.paths = _FactorPaths(paths, i)
            if hasattr(factor.analysis, "modify_after_fit"):
                factor.analysis.modify_after_fit(child)
        return self

    # ---- outputs ---------------------------------------------------------------------------------------------------------

    def factor_paths(self, paths) -> list[_FactorPaths]:
        """Each factor's output paths, ``<fit folder>/analyses/analysis_<i>/``."""
        return [_FactorPaths(paths, i) for i in range(len(self._model_factors))]

    def save_attributes(self, paths) -> None:
        """Before a search: ``files/graph.json`` (the factors, their folders and which global parameters each
        uses); then in each factor's folder its ``metadata.json``, ``model.info``, ``files/model.json``,
        ``files/search.json`` and its analysis' ``save_attributes`` (dataset, settings, figures)."""
        from galaxyfit.analysis.outputs import save_search_attributes
        from galaxyfit.output import write_json_atomic

        model = self._fitted_model if self._fitted_model is not None else self.global_prior_model
        search_settings = {}
        if (paths.files / "search.json").is_file():
            search_settings = json.loads((paths.files / "search.json").read_text())
        indices = self.factor_indices(model)
        write_json_atomic(paths.files / "graph.json", {
            "name": self.name,
            "factors": [{"name": name, "folder": f"analyses/analysis_{i}",
                         "dataset_name": getattr(f.analysis, "dataset_name", None),
                         "parameter_names": sub.parameter_names, "global_indices": idx}
                        for i, (name, f, sub, idx) in enumerate(zip(self.names, self._model_factors,
                                                                    self.factor_models(model), indices))]})
        for factor, sub, child in zip(self._model_factors, self.factor_models(model), self.factor_paths(paths)):
            child.make_folders()
            save_search_attributes(child, sub, search_settings, getattr(factor.analysis, "dataset_name", None))
            if hasattr(factor.analysis, "save_attributes"):
                factor.analysis.save_attributes(child)

    def save_results(self, paths, result) -> None:
        """After a search: each factor's analysis' ``save_results`` of its result into its own folder (its samples'
        columns, best fit, latent variables, fit images and figures)."""
        for factor, child, child_paths in zip(self._model_factors, result, self.factor_paths(paths)):
            child_paths.make_folders()
            if hasattr(factor.analysis, "save_results"):
                factor.analysis.save_results(child_paths, child)
            child.paths = child_paths

    def save_results_combined(self, paths, result) -> None:
        """After ``save_results``: the joint outputs at the top of the fit's folder -- ``files/samples.csv`` (every
        global parameter), ``files/samples_summary.json`` (chi^2 and pixels summed over the factors, and each
        factor's), ``files/covariance.csv``, ``files/result.json``, ``model.results`` and ``search.summary`` -- then
        the first factor's analysis' own ``save_results_combined`` (PyAutoFit's hook)."""
        from galaxyfit.analysis.outputs import posterior_covariance, search_summary_text, write_covariance_csv
        from galaxyfit.output import write_json_atomic, write_text_atomic

        result.samples.to_csv(paths.files / "samples.csv")
        write_json_atomic(paths.files / "samples_summary.json", result.samples_summary())
        write_covariance_csv(paths.files / "covariance.csv", result.model.parameter_names, posterior_covariance(result))
        write_json_atomic(paths.files / "result.json", result.summary())
        write_text_atomic(paths.folder / "model.results", result.model_results_text())
        write_text_atomic(paths.folder / "search.summary", search_summary_text(result))
        first = self._model_factors[0].analysis
        if hasattr(first, "save_results_combined"):
            first.save_results_combined(paths, result)

    def refresh_latents(self, paths, result) -> bool:
        """A completed fit run again with other latent variables asked for: each factor's ``refresh_latents`` in its
        folder. Returns whether any factor wrote them."""
        done = False
        for factor, child, child_paths in zip(self._model_factors, result, self.factor_paths(paths)):
            if hasattr(factor.analysis, "refresh_latents"):
                done = bool(factor.analysis.refresh_latents(child_paths, child)) or done
        return done

    def perform_quick_update(self, paths, instance, log_likelihood=None, vector=None, model=None) -> None:
        """During a search: each factor's quick update (its fit figure and best parameters so far) in its folder."""
        model = model if model is not None else self._fitted_model
        parts = self.factor_models(model) if model is not None else [None] * len(self._model_factors)
        indices = self.factor_indices(model) if model is not None else [None] * len(self._model_factors)
        for factor, sub_instance, sub, idx, child in zip(self._model_factors, self.factor_instances(instance), parts,
                                                         indices, self.factor_paths(paths)):
            if not hasattr(factor.analysis, "perform_quick_update"):
                continue
            sub_vector = None if vector is None or idx is None else np.asarray(vector)[idx]
            child.make_folders()
            factor.analysis.perform_quick_update(child, sub_instance, log_likelihood=log_likelihood, vector=sub_vector,
                                                 model=sub if sub_vector is not None else None)


@float64_api
class CombinedResult:
    """The result of fitting a ``FactorGraphModel`` (PyAutoFit's ``CombinedResult``): a list of one result per
    factor -- ``results[i]`` is factor i's analysis' result (``ResultImaging`` for imaging), with that factor's model
    and the joint samples' columns of its parameters -- plus the joint ``samples``, ``model`` (the global model),
    evidence and the search's ``check``. Attributes it does not have are the first factor's result's, as in
    PyAutoFit (e.g. ``max_log_likelihood_fit``; ``max_log_likelihood_fit_list`` has every factor's).

    The factors' results share the joint samples: their ``log_likelihood`` and ``log_evidence`` are the joint ones,
    and their parameters' errors are the joint posterior's marginals.
    """

    paths = None

    def __init__(self, results, model, analysis, samples: Samples, search: dict, timing: dict | None = None,
                 covariance=None):
        self.child_results = list(results)
        self.model = model
        self.analysis = analysis
        self.samples = samples
        self.search = search
        self.timing = timing or {}
        self.covariance = covariance

    # the list
    def __iter__(self):
        return iter(self.child_results)

    def __len__(self) -> int:
        return len(self.child_results)

    def __getitem__(self, item):
        return self.child_results[item]

    def __getattr__(self, item):
        children = self.__dict__.get("child_results")
        if item.startswith("__") or not children:  # (copy and pickle probe before __init__ has run)
            raise AttributeError(item)
        return getattr(children[0], item)

    # the joint posterior (Result's definitions, which use only samples, model and search)
    max_log_likelihood_vector = Result.max_log_likelihood_vector
    log_likelihood = Result.log_likelihood
    median_pdf_vector = Result.median_pdf_vector
    log_evidence = Result.log_evidence
    log_evidence_error = Result.log_evidence_error
    check = Result.check
    trusted = Result.trusted
    check_text = Result.check_text
    errors_at_sigma = Result.errors_at_sigma
    parameter_summary = Result.parameter_summary
    __str__ = Result.__str__

    @property
    def max_log_likelihood_instance(self):
        """The global model's instance at the best fit: one instance per factor (``instance.<factor name>``)."""
        return self.model.instance_from_vector(self.max_log_likelihood_vector)

    @property
    def median_pdf_instance(self):
        return self.model.instance_from_vector(self.median_pdf_vector)

    @property
    def max_log_likelihood_fit(self):
        """The first factor's best fit (PyAutoFit forwards to the first result); ``max_log_likelihood_fit_list``
        has every factor's."""
        return self.child_results[0].max_log_likelihood_fit

    @property
    def max_log_likelihood_fit_list(self) -> list:
        return [child.max_log_likelihood_fit for child in self.child_results]

    def factor_log_likelihoods(self) -> list[float]:
        """Each factor's own log likelihood (figure of merit) at the joint best fit; they sum to ``log_likelihood``
        (to rounding)."""
        values = []
        for factor, sub in zip(self.analysis.model_factors, self.analysis.factor_instances(self.max_log_likelihood_instance)):
            values.append(float(precision.jit(factor.analysis.log_likelihood_function)(sub)))
        return values

    def _factor_rows(self) -> list[dict]:
        rows = []
        for name, child, fit, log_l in zip(self.analysis.names, self.child_results, self.max_log_likelihood_fit_list,
                                           self.factor_log_likelihoods()):
            rows.append({"name": name, "folder": f"analyses/analysis_{len(rows)}",
                         "dataset_name": getattr(child.analysis, "dataset_name", None),
                         "log_likelihood": log_l, "chi_squared": float(fit.chi_squared),
                         "pixels_in_mask": int(fit.pixels_in_mask), "n_free_parameters": int(child.model.prior_count)})
        return rows

    def samples_summary(self) -> dict:
        """``files/samples_summary.json`` of the joint fit (``analysis/outputs.samples_summary``'s keys; chi^2 and
        pixels summed over the factors) with ``analyses``: each factor's own ln L, chi^2 and pixels."""
        rows = self._factor_rows()
        return {
            "parameter_names": list(self.model.parameter_names),
            "log_evidence": self.log_evidence,
            "log_evidence_error": self.log_evidence_error,
            "max_log_likelihood": self.log_likelihood,
            "max_log_likelihood_vector": [float(v) for v in self.max_log_likelihood_vector],
            "median_pdf_vector": [float(v) for v in self.median_pdf_vector],
            "parameters": self.parameter_summary(),
            "chi_squared": float(sum(r["chi_squared"] for r in rows)),
            "n_free_parameters": int(self.model.prior_count),
            "pixels_in_mask": int(sum(r["pixels_in_mask"] for r in rows)),
            "trusted": self.trusted,
            "analyses": rows,
        }

    def summary(self) -> dict:
        """``files/result.json`` of the joint fit: search, timing, joint ln L and evidence, the global parameters'
        summaries and each factor's row (``samples_summary``'s ``analyses``)."""
        from galaxyfit import __version__

        rows = self._factor_rows()
        return {
            "galaxyfit_version": __version__,
            "search": self.search,
            "timing": self.timing,
            "n_free_parameters": self.model.prior_count,
            "log_likelihood": self.log_likelihood,
            "chi_squared": float(sum(r["chi_squared"] for r in rows)),
            "log_evidence": self.log_evidence,
            "log_evidence_error": self.log_evidence_error,
            "parameters": self.parameter_summary(),
            "analyses": rows,
        }

    def model_results_text(self) -> str:
        """``model.results`` of the joint fit: ln L, evidence, each factor's chi^2, the check, then the best fit and
        the 1- and 3-sigma intervals of every global parameter."""
        lines = [f"Maximum Log Likelihood {self.log_likelihood:.6f}"]
        if self.log_evidence is not None:
            lines.append(f"Log Evidence {self.log_evidence:.6f}"
                         + (f" +- {self.log_evidence_error:.6f}" if self.log_evidence_error is not None else ""))
        for row in self._factor_rows():
            lines.append(f"{row['name']} ({row['folder']}): ln L {row['log_likelihood']:.4f}, chi^2 "
                         f"{row['chi_squared']:.4f} over {row['pixels_in_mask']} pixels")
        lines.append(f"{self.model.prior_count} free parameters in all")
        lines.append(self.check_text())
        lines += ["", "Maximum Log Likelihood Model:", ""]
        names = self.model.parameter_names
        width = max((len(n) for n in names), default=10) + 2
        lines += [f"{name:{width}s}{value:.6g}" for name, value in zip(names, self.max_log_likelihood_vector)]
        for sigma in (3.0, 1.0):
            lower, upper = self.samples.values_at_sigma(sigma)
            lines += ["", f"Summary (median, {sigma:g} sigma limits):", ""]
            lines += [f"{name:{width}s}{med:.6g} ({lo:.6g}, {hi:.6g})"
                      for name, med, lo, hi in zip(names, self.median_pdf_vector, lower, upper)]
        return "\n".join(lines) + "\n"


def _replace_everywhere(node, old, new) -> None:
    """Put prior ``new`` wherever prior object ``old`` is an attribute below ``node`` (tuples and nested models
    included), so a parameter linked within one model stays linked after it is freed."""
    for name, value in list(node._attributes.items()):
        if value is old:
            setattr(node, name, new)
        elif isinstance(value, tuple):
            entries = list(value)
            changed = False
            for i, entry in enumerate(entries):
                if entry is old:
                    entries[i], changed = new, True
                elif isinstance(entry, _Node):
                    _replace_everywhere(entry, old, new)
            if changed:
                setattr(node, name, tuple(entries))
        elif isinstance(value, _Node):
            _replace_everywhere(value, old, new)


def _parameter_name(path: tuple[str, ...]) -> str:
    """The parameter's own name at the end of a model path: ``centre_1`` -> ``centre``."""
    last = path[-1]
    base, _, index = last.rpartition("_")
    return base if base and index.isdigit() else last


def free_per_band(model, names=PER_BAND_PARAMETERS):
    """A deep copy of ``model`` (every prior kept, so every parameter shared with ``model``) in which each free
    parameter whose own name is in ``names`` (e.g. ``intensity``; a pair such as ``grid_offset`` by its name) has a
    new prior of the same kind and limits: free in this copy alone. Parameters linked within the model stay linked.
    Raises ModelError for a model that is not a Model or Collection."""
    from galaxyfit.model.priors import prior_from_dict

    return _copy_replacing(model, names, lambda prior: prior_from_dict(prior.to_dict()), "free_per_band")


def fix_parameters(model, names):
    """A deep copy of ``model`` (every other prior kept, so shared with ``model``) in which each free parameter whose
    own name is in ``names`` is fixed at its prior's median -- e.g. the first band's ``grid_offset`` at (0, 0), the
    astrometric reference the other bands' offsets are measured from (PyAutoGalaxy's multi-wavelength examples free
    the offset of every dataset after the first). Raises ModelError for a model that is not a Model or Collection."""
    return _copy_replacing(model, names, lambda prior: float(prior.median), "fix_parameters")


def _copy_replacing(model, names, replacement, caller: str):
    """A deep copy of ``model`` with every free parameter whose own name is in ``names`` replaced, wherever it is
    linked, by ``replacement(prior)``."""
    if not isinstance(model, _Node):
        raise ModelError(f"{caller}: needs a galaxyfit Model or Collection, got {type(model).__name__}")
    out = copy.deepcopy(model)
    wanted = set(names)
    for path, prior in out._first_occurrences():
        if _parameter_name(path) in wanted:
            _replace_everywhere(out, prior, replacement(prior))
    return out


#: Parameters ``graph_from_datasets`` fixes (at their prior medians) in the first band: the reference of the offsets.
FIRST_BAND_FIXED = ("grid_offset",)


def graph_from_datasets(datasets, model, per_band=PER_BAND_PARAMETERS, dataset_names=None,
                        first_band_fixed=FIRST_BAND_FIXED, **analysis_kwargs) -> FactorGraphModel:
    """The ``FactorGraphModel`` of a joint fit of several bands with shared geometry.

    Parameters
    ----------
    datasets : sequence of Imaging (or of AnalysisImaging, used as given)
        One per band, each with its own PSF, noise map, mask and pixel scale.
    model : Model or Collection, or callable (index, dataset) -> model
        The single-band model. Every band after the first gets a deep copy in which the parameters named in
        ``per_band`` have priors of their own (``free_per_band``); the first band keeps the model's priors, but for
        the parameters named in ``first_band_fixed``, fixed at their prior medians (``fix_parameters``); every other
        parameter is shared by all bands. Linear light profiles
        (``lp_linear``) have no intensity parameter: each band solves its own. A callable makes each band's model
        itself (shared parameters then share prior objects or ids, as in ``AnalysisFactor``).
    per_band : sequence of str
        Parameter names (the last part of a path, without a pair's ``_0``/``_1``) free in each band:
        ``PER_BAND_PARAMETERS`` (intensity, background_sky_level, grid_offset) by default.
    first_band_fixed : sequence of str
        Parameter names fixed in the first band (the reference band): ``grid_offset`` by default, so that the other
        bands' offsets (``DatasetModel(grid_offset=...)``) are measured from it and do not trade off against the
        galaxy's centre.
    dataset_names : sequence of str or None
        Each band's name (e.g. the filter), recorded as its analysis' ``dataset_name``.
    **analysis_kwargs
        Passed to every band's ``AnalysisImaging`` (settings, cosmology, visualize, ...).

    Raises ModelError for no datasets or a ``dataset_names`` of another length, TypeError for a dataset that is not
    an Imaging.
    """
    from galaxyfit.analysis.analysis_imaging import AnalysisImaging

    datasets = list(datasets)
    if not datasets:
        raise ModelError("graph_from_datasets: needs at least one dataset")
    if dataset_names is not None and len(list(dataset_names)) != len(datasets):
        raise ModelError(f"graph_from_datasets: {len(list(dataset_names))} dataset_names for {len(datasets)} datasets")
    factors = []
    for i, dataset in enumerate(datasets):
        name = None if dataset_names is None else str(list(dataset_names)[i])
        if isinstance(dataset, AnalysisImaging):
            analysis = dataset
        else:
            analysis = AnalysisImaging(dataset, dataset_name=name, **analysis_kwargs)
        if callable(model) and not isinstance(model, _Node):
            band_model = model(i, analysis.dataset)
        else:
            band_model = fix_parameters(model, first_band_fixed) if i == 0 else free_per_band(model, per_band)
        factors.append(AnalysisFactor(band_model, analysis))
    return FactorGraphModel(*factors)
