"""Explicit settings of an imaging fit (no global configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field

from galaxyfit.integration import OverSampling


@dataclass(frozen=True)
class Settings:
    """How model images are computed.

    over_sampling : pixel integration of light profiles (:class:`galaxyfit.integration.OverSampling`).
    convolution : "auto" (the cheapest by a cost model calibrated on this hardware class), "direct" (the C++ kernel
        through the XLA FFI), "fft" (XLA's FFT) or "separable" (two 1-D direct passes; only for PSFs that are rank 1
        to rounding, e.g. Gaussians).
    use_positive_only_solver : the linear inversion keeps amplitudes >= 0 (except a linear Sky), PyAutoGalaxy's
        default; False solves the unconstrained system. Changes the reconstruction, and so the evidence, whenever an
        unconstrained amplitude would be negative.
    no_regularization_add_to_curvature_diag_value : added to the curvature matrix's diagonal at unregularized
        linear amplitudes (PyAutoGalaxy's 1e-3, in data units^-2 since F = B^T W B): keeps near-degenerate columns
        (e.g. MGE Gaussians far below the pixel scale) solvable. It changes the reconstruction slightly but adds no
        term to the evidence, as in PyAutoGalaxy; 0 removes it.
    """

    over_sampling: OverSampling = field(default_factory=OverSampling)
    convolution: str = "auto"
    use_positive_only_solver: bool = True
    no_regularization_add_to_curvature_diag_value: float = 1e-3

    def __post_init__(self):
        if self.convolution not in ("auto", "direct", "fft", "separable"):
            raise ValueError(f"Settings.convolution must be 'auto', 'direct', 'fft' or 'separable', got {self.convolution!r}")
        value = self.no_regularization_add_to_curvature_diag_value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and value < float("inf")):
            raise ValueError(f"Settings.no_regularization_add_to_curvature_diag_value must be a finite number >= 0, got {value!r}")
        if not isinstance(self.use_positive_only_solver, bool):
            raise ValueError(f"Settings.use_positive_only_solver must be True or False, got {self.use_positive_only_solver!r}")

    @property
    def solver(self):
        """The inversion's solver settings (galaxyfit.kernels.inversion.SolverSettings)."""
        from galaxyfit.kernels.inversion import SolverSettings

        return SolverSettings(positive_only=self.use_positive_only_solver,
                              no_regularization_add_to_curvature_diag_value=float(self.no_regularization_add_to_curvature_diag_value))
