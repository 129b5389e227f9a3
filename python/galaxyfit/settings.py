"""Explicit settings of an imaging fit (no global configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field

from galaxyfit.integration import OverSampling


@dataclass(frozen=True)
class Settings:
    """How model images are computed.

    over_sampling : pixel integration of light profiles (:class:`galaxyfit.integration.OverSampling`).
    convolution : "auto" (the cheaper of direct and FFT by a cost model calibrated on this hardware class), "direct"
        (the C++ kernel through the XLA FFI) or "fft" (XLA's FFT).
    """

    over_sampling: OverSampling = field(default_factory=OverSampling)
    convolution: str = "auto"

    def __post_init__(self):
        if self.convolution not in ("auto", "direct", "fft"):
            raise ValueError(f"Settings.convolution must be 'auto', 'direct' or 'fft', got {self.convolution!r}")
