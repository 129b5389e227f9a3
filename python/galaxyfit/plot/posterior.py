"""``corner.png``: the weighted posterior, one- and two-dimensional marginals (the ``corner`` package; PyAutoFit's
``corner_cornerpy``)."""

from __future__ import annotations

import logging

import numpy as np

from galaxyfit.plot import style

logger = logging.getLogger(__name__)


def short_label(name: str) -> str:
    """The last two parts of a dotted parameter path (``galaxies.galaxy.bulge.sersic_index`` ->
    ``bulge.sersic_index``)."""
    return ".".join(str(name).split(".")[-2:])


def save_corner_figure(samples, path, title_prefix: str | None = None, max_parameters: int = 12) -> str | None:
    """Write a corner plot of ``samples`` (``galaxyfit.search.samples.Samples``: ``parameters`` (n, d), ``weights``,
    ``parameter_names``) to ``path`` (atomically) and return the path; return None and write nothing (with a logged
    warning) when it cannot be drawn: fewer samples with finite values and positive weight than parameters + 1, or
    no parameter that varies.

    Weighted samples (a nested sampler's) are first resampled to at most 4000 equal-weight draws (seeded), so the
    axes span the posterior rather than the exploration points. Diagonal: the 1-D marginals with the 16th, 50th and 84th percentiles dashed and quoted in the titles
    (median and 1-sigma); below it, the 2-D marginals with corner's contours (0.5, 1, 1.5 and 2 sigma in the 2-D
    sense, not 68 % / 95 %; points only when the effective sample size is under 50). Labels are the last two parts
    of each parameter path. A parameter that does not vary (fixed, or a posterior on one point; corner raises on
    those) is left out and its value given in the title. At most ``max_parameters`` parameters, the first ones that
    vary (the title says how many are left out). Raises ``galaxyfit.errors.OutputError`` when ``path`` cannot be
    written.
    """
    parameters = np.atleast_2d(np.asarray(samples.parameters, dtype=np.float64))
    weights = np.asarray(samples.weights, dtype=np.float64).ravel()
    names = list(samples.parameter_names)
    use = np.all(np.isfinite(parameters), axis=1) & np.isfinite(weights) & (weights > 0)
    parameters, weights = parameters[use], weights[use]
    if parameters.shape[0] == 0:
        logger.warning("corner plot skipped: no sample has finite values and a positive weight")
        return None
    varies = parameters.max(axis=0) > parameters.min(axis=0)
    fixed = [(short_label(n), float(parameters[0, k])) for k, n in enumerate(names) if not varies[k]]
    columns = np.flatnonzero(varies)
    total = len(columns)
    columns = columns[:max(int(max_parameters), 1)]
    parameters, names = parameters[:, columns], [names[k] for k in columns]
    n, d = parameters.shape
    if d == 0 or n < d + 1:
        # corner would fail (or assert, as PyAutoFit's did before PyAutoFit#1224): too few points for d dimensions
        logger.warning("corner plot skipped: %d usable samples for %d varying parameters (needs at least %d)", n, d,
                       d + 1)
        return None
    weights = weights / weights.sum()
    ess = 1.0 / np.sum(weights**2)
    if ess < 0.99 * n:
        # Nested samplers keep their exploration points at tiny weights: corner draws every point and sizes its axes
        # to all of them, so the posterior shrank to a spike. An equal-weight resample (seeded) shows the posterior.
        draws = np.random.default_rng(0).choice(n, size=min(n, 4000), p=weights)
        parameters, weights = parameters[draws], np.full(len(draws), 1.0 / len(draws))
    figure = style.quiet(lambda: _figure(parameters, weights, names, total, fixed, title_prefix, ess))
    return style.save(figure, path)


def _figure(parameters, weights, names, total, fixed, prefix, ess):
    import corner

    d = parameters.shape[1]
    size = max(2.0 * d, 5.0)
    figure = style.new_figure((size, size))
    # Density contours need enough independent points (corner logs "too few points" for every panel otherwise).
    contours = ess >= 50
    # few points: fewer bins, and points big and opaque enough to see (corner's default alpha 0.1 hides them)
    points = {} if contours else dict(ms=3.0, alpha=0.7)
    bins = int(np.clip(2.0 * np.sqrt(ess), 8, 30))
    corner.corner(parameters, weights=weights, labels=[short_label(n) for n in names],
                  quantiles=[0.16, 0.5, 0.84], show_titles=True, title_fmt=".3g", title_kwargs=dict(fontsize=8),
                  label_kwargs=dict(fontsize=9), fig=figure, bins=bins, smooth=1.0 if contours else None, data_kwargs=points,
                  plot_contours=contours, plot_density=contours, max_n_ticks=4)
    for ax in figure.axes:
        ax.tick_params(labelsize=7)
    figure.subplots_adjust(top=1.0 - 1.1 / size)  # room for the title above the first marginal's own title
    lines = [f"posterior: {parameters.shape[0]} equal-weight draws, effective sample size {ess:.0f}"
             + (f" (first {d} of {total} varying parameters)" if total > d else "")]
    if fixed:
        shown = ", ".join(f"{name} = {value:.4g}" for name, value in fixed[:4])
        lines.append(f"constant: {shown}" + (f" and {len(fixed) - 4} more" if len(fixed) > 4 else ""))
    figure.suptitle(style.titled("\n".join(lines), prefix), fontsize=10)
    return figure
