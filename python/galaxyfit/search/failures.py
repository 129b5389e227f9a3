"""Failures inside a search become a message that says what happened and what to change, never a traceback.

The failure seen most (NGC 3073 with the default centre prior N(0, 0.3") while the galaxy sits ~10" from the image
centre): the likelihood keeps rising towards the edge of a prior, so a nested sampler's points pile up at the unit
cube's face, at 1 - 1e-16, where float64 can no longer tell them apart. The live set then has zero spread in that
coordinate, and the next bound's minimum-volume ellipsoid is singular (``LinAlgError: Singular matrix`` from nautilus'
own code, a non-positive-definite scatter matrix from galaxyfit's kernel); with other random numbers nautilus instead
spun for ever trying to sample a bound of zero volume. :class:`PriorEdgeMonitor` watches the unit-cube points a sampler
asks to transform and stops the search as soon as most of a batch sits within ``EDGE`` of a face;
:func:`diagnosis` explains any other numerical failure from the live points.
"""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import SearchError

#: Unit-cube points closer than this to a face are "at the edge": 7 sigma into a Gaussian prior's tail, 1e-12 of a
#: uniform prior's range. A posterior that narrow against a prior limit cannot be sampled or bounded.
EDGE = 1e-12
#: Fraction of a batch at one face that stops the search, and the smallest batch judged.
EDGE_FRACTION = 0.5
MIN_BATCH = 32


class PriorEdgeError(SearchError):
    """A search stopped because its points piled up at the edge of a prior (the best fit lies beyond it)."""


class SearchFailedError(SearchError):
    """A search stopped by a numerical failure inside the sampler; the message says what happened and what to do."""


class PriorEdgeMonitor:
    """The prior transform of ``problem`` that raises :class:`PriorEdgeError` when more than ``EDGE_FRACTION`` of a
    batch of unit-cube points (at least ``MIN_BATCH``) lies within ``EDGE`` of the same face of one coordinate."""

    def __init__(self, problem, search_name: str):
        self.problem = problem
        self.search_name = search_name

    def __call__(self, unit):
        unit = np.asarray(unit, dtype=np.float64)
        if unit.ndim == 2 and len(unit) >= MIN_BATCH:
            for side, near in (("upper", unit >= 1.0 - EDGE), ("lower", unit <= EDGE)):
                fraction = near.mean(axis=0)
                worst = int(np.argmax(fraction))
                if fraction[worst] > EDGE_FRACTION:
                    raise PriorEdgeError(edge_message(self.problem, self.search_name, worst, side,
                                                      f"{fraction[worst]:.0%} of the points it proposed"))
        return self.problem.prior_transform(unit)


def edge_message(problem, search_name: str, index: int, side: str, how_many: str) -> str:
    model = problem.model
    name, prior = model.parameter_names[index], model.priors[index]
    edge = float(np.asarray(prior.value_for(np.float64(1.0 - EDGE if side == "upper" else EDGE))))
    text = (f"{search_name} stopped: the likelihood keeps rising beyond the {side} edge of the prior of {name} ({prior!r}); "
            f"{how_many} lie within {EDGE:g} of that edge of the prior's range (the value there is {edge:.6g}), where "
            "float64 can no longer tell points apart, so no bound can be fitted around them. The best fit lies outside "
            "this prior: widen or move it (in Python, or in a model file: --model FILE.yaml).")
    centroid = _light_centroid(problem)
    if centroid is not None and "centre" in name:
        text += f" The image's light is centred at (y, x) = ({centroid[0]:.4g}, {centroid[1]:.4g}) arcsec."
    return text


def diagnosis(problem, search_name: str, unit_points, log_likelihood, n_live: int, error: BaseException) -> str:
    """A message for a numerical failure (``error``) inside a sampler, from its points (unit cube) and their ln L:
    points piled at a prior's edge when that is what the best ``n_live`` show, otherwise what failed and what to try."""
    points = np.asarray(unit_points, dtype=np.float64).reshape(-1, problem.n_dim)
    log_l = np.asarray(log_likelihood, dtype=np.float64).ravel()
    if len(points) and len(points) == len(log_l):
        best = points[np.argsort(log_l)[-min(n_live, len(log_l)):]]
        for side, near in (("upper", best >= 1.0 - EDGE), ("lower", best <= EDGE)):
            fraction = near.mean(axis=0)
            worst = int(np.argmax(fraction))
            if fraction[worst] > EDGE_FRACTION:
                return edge_message(problem, search_name, worst, side, f"{fraction[worst]:.0%} of its {len(best)} best points")
        spread = best.std(axis=0) if len(best) > 1 else np.ones(problem.n_dim)
        flat = [problem.model.parameter_names[i] for i in np.flatnonzero(spread == 0.0)]
        if flat:
            return (f"{search_name} stopped ({type(error).__name__}: {error}): its {len(best)} best points all have the "
                    f"same {', '.join(flat)}, so no bound can be fitted around them. Fix such a parameter (it has no "
                    "effect on the model), or give it a prior over values that change the model.")
    return (f"{search_name} stopped ({type(error).__name__}: {error}) while building a bound from its live points. "
            "Try another seed or more live points; if it persists, check that the priors contain the best fit (e.g. "
            "with --search lm).")


def _light_centroid(problem):
    dataset = getattr(problem.analysis, "dataset", None)
    if dataset is None:
        return None
    from galaxyfit.search.initial import image_moments

    moments = image_moments(dataset)
    return None if moments is None else moments["centre"]
