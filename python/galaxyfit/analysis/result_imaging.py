"""``ResultImaging``: a search's ``Result`` with the imaging views PyAutoGalaxy's result offers -- per-galaxy model
and subtracted images of the best fit, and a model whose priors are centred on this result, for the next search of
a chain."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from galaxyfit.search.result import Result


class ResultImaging(Result):
    """``Result`` plus ``galaxy_model_image_dict``, ``subtracted_image_dict``, ``model_centred`` and ``paths`` (the
    fit's ``OutputPaths`` when its search wrote outputs, else None)."""

    paths = None

    @cached_property
    def galaxy_names(self) -> list[str]:
        galaxies = self.max_log_likelihood_instance.galaxies
        if hasattr(galaxies, "items"):
            return [str(k) for k, _ in galaxies.items()]
        return [str(i) for i in range(len(galaxies))]

    @cached_property
    def galaxy_model_image_dict(self) -> dict[str, np.ndarray]:
        """{galaxy name: (N_y, N_x) its PSF-convolved model at the best fit (linear profiles at their solved
        intensities), 0 at masked pixels}."""
        images = list(self.max_log_likelihood_fit.galaxy_model_image_dict.values())
        return {name: np.asarray(image) for name, image in zip(self.galaxy_names, images)}

    @cached_property
    def subtracted_image_dict(self) -> dict[str, np.ndarray]:
        """{galaxy name: (N_y, N_x) the data minus every other galaxy's best-fit model}: each galaxy's light as the
        data show it (0 at masked pixels)."""
        data = np.where(self.analysis.dataset.mask.array, 0.0, self.analysis.dataset.data)
        models = self.galaxy_model_image_dict
        total = sum(models.values()) if models else 0.0
        return {name: data - (total - image) for name, image in models.items()}

    def model_centred(self, width: float = 3.0, minimum_sigma: float = 1e-6):
        """A copy of the model whose free parameters have truncated Gaussian priors centred on this result's median,
        with sigma = ``width`` x the 1-sigma error (at least ``minimum_sigma`` and, for a parameter the data leave
        unconstrained, the original prior kept), inside the original prior's limits -- PyAutoFit's prior passing for
        chaining searches. Linked parameters stay linked."""
        from galaxyfit.model.model import Model
        from galaxyfit.model.priors import TruncatedGaussianPrior

        d = self.model.to_dict()
        minus, plus = self.samples.errors_at_sigma(1.0)
        for prior, median, m, p in zip(self.model.priors, self.median_pdf_vector, minus, plus):
            sigma = width * 0.5 * (float(m) + float(p))
            if not math.isfinite(sigma):
                continue
            lower, upper = prior.limits
            mean = float(np.clip(median, lower, upper))
            d["priors"][str(prior.id)] = TruncatedGaussianPrior(mean, max(sigma, minimum_sigma), lower, upper).to_dict()
        return Model.from_dict(d)
