"""Explicit settings of an imaging fit (no global configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field

from galaxyfit.integration import OverSampling


@dataclass(frozen=True)
class Settings:
    """How model images are computed.

    over_sampling : pixel integration of light profiles (:class:`galaxyfit.integration.OverSampling`).
    convolution : "auto" (the cheapest by a cost model calibrated on this hardware class; on a GPU, "measure"),
        "measure" (the fastest of the methods timed on this PSF and mask when the analysis is made), "direct" (the
        C++ or CUDA kernel through the XLA FFI), "fft" (XLA's FFT: cuFFT on a GPU) or "separable" (two 1-D direct
        passes; only for PSFs that are rank 1 to rounding, e.g. Gaussians).
    use_positive_only_solver : the linear inversion keeps amplitudes >= 0 (except a linear Sky), PyAutoGalaxy's
        default; False solves the unconstrained system. Changes the reconstruction, and so the evidence, whenever an
        unconstrained amplitude would be negative.
    no_regularization_add_to_curvature_diag_value : added to the curvature matrix's diagonal at unregularized
        linear amplitudes (PyAutoGalaxy's 1e-3, in data units^-2 since F = B^T W B): keeps near-degenerate columns
        (e.g. MGE Gaussians far below the pixel scale) solvable. It changes the reconstruction slightly but adds no
        term to the evidence, as in PyAutoGalaxy; 0 removes it.
    over_sample_size_pixelization : each unmasked pixel is split into this many squared sub-pixels, each
        interpolated on a pixelization's mesh (PyAutoGalaxy's default 4).
    use_border_relocator : sub-pixels (and mesh vertices) outside the ellipse fitted to the mask's border pixels are
        moved onto it before the mapping, so a rectangular mesh spans the mask. Off by default: PyAutoGalaxy
        2026.10.26.1's configuration resolves it to False (its autoarray general.yaml wins over autogalaxy's True).
    use_edge_zeroed_pixels : under the positive-only solver, a mesh's edge pixels (a rectangular mesh's outer ring, a
        Delaunay mesh's ``zeroed_pixels``) are held at zero; they still count in the evidence's log-determinants, as
        in PyAutoGalaxy. No effect without positivity.
    use_spectral_solve : a model whose only linear object is one mesh regularized by ``Constant`` or
        ``ConstantSplit`` uses the basis that diagonalizes its curvature and regularization matrices
        (``galaxyfit.fit.spectral``; one O(S^3) decomposition per dataset and mesh): without positivity the whole
        solve is then O(S) per coefficient; with it, the decomposition gives the log-determinants and the warm start,
        and only the passive set's block is factored. False always takes the direct Cholesky solve. Equal to
        rounding (~1e-10 relative).
    """

    over_sampling: OverSampling = field(default_factory=OverSampling)
    convolution: str = "auto"
    use_positive_only_solver: bool = True
    no_regularization_add_to_curvature_diag_value: float = 1e-3
    over_sample_size_pixelization: int = 4
    use_border_relocator: bool = False
    use_edge_zeroed_pixels: bool = True
    use_spectral_solve: bool = True

    def __post_init__(self):
        if self.convolution not in ("auto", "measure", "direct", "fft", "separable"):
            raise ValueError("Settings.convolution must be 'auto', 'measure', 'direct', 'fft' or 'separable', got "
                             f"{self.convolution!r}")
        value = self.no_regularization_add_to_curvature_diag_value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and value < float("inf")):
            raise ValueError(f"Settings.no_regularization_add_to_curvature_diag_value must be a finite number >= 0, got {value!r}")
        size = self.over_sample_size_pixelization
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 64:
            raise ValueError(f"Settings.over_sample_size_pixelization must be an integer from 1 to 64, got {size!r}")
        for name in ("use_border_relocator", "use_edge_zeroed_pixels", "use_spectral_solve"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"Settings.{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.use_positive_only_solver, bool):
            raise ValueError(f"Settings.use_positive_only_solver must be True or False, got {self.use_positive_only_solver!r}")

    @property
    def solver(self):
        """The inversion's solver settings (galaxyfit.kernels.inversion.SolverSettings)."""
        from galaxyfit.kernels.inversion import SolverSettings

        return SolverSettings(positive_only=self.use_positive_only_solver,
                              no_regularization_add_to_curvature_diag_value=float(self.no_regularization_add_to_curvature_diag_value))
