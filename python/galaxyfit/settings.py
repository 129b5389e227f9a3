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
    """

    over_sampling: OverSampling = field(default_factory=OverSampling)
    convolution: str = "auto"

    def __post_init__(self):
        if self.convolution not in ("auto", "direct", "fft", "separable"):
            raise ValueError(f"Settings.convolution must be 'auto', 'direct', 'fft' or 'separable', got {self.convolution!r}")
