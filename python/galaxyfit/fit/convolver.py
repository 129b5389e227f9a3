"""PSF convolution of a model box, read out at the unmasked pixels: the C++ direct kernel (XLA FFI) for small PSFs,
XLA's FFT for large ones, and -- when the PSF is separable to rounding (rank 1, e.g. a Gaussian) -- two 1-D passes
of the direct kernel; chosen by a cost model calibrated on the CPU, or, on a GPU (where that model says nothing about
the CUDA direct kernel against cuFFT), by timing each method on this PSF and box."""

from __future__ import annotations

import copy

import numpy as np

from galaxyfit import _core
from galaxyfit.kernels import psf_convolve, runs_from_mask
from galaxyfit.kernels.fft_convolution import fft_convolve

# Cost model (nanoseconds on this project's 2-core x86-64 machine; bench/README.md): the AVX2/AVX-512 direct kernel
# does a multiply-add in ~0.07 ns; an XLA real FFT pair costs ~0.72 ns per N log2 N (N = transform size).
_NS_PER_DIRECT_MAC = 0.07
_NS_PER_SEPARABLE_MAC = 0.12  # 1-D passes reuse less of each load (bench/README.md)
_NS_PER_FFT_NLOGN = 0.72
# A PSF whose second singular value is below this fraction of the first is treated as exactly separable: the
# factorisation then changes results only at the level of rounding.
SEPARABLE_TOLERANCE = 1e-14
# The PSF's numbers each method computes with besides ``kernel`` (``Convolver.data_arrays``).
_METHOD_ARRAYS = {"fft": ("kernel_fft",), "separable": ("column_kernel", "row_kernel")}
#: A measured choice ("measure") times each method on a batch of this many random boxes, best of MEASURE_REPEATS.
MEASURE_BATCH = 16
MEASURE_REPEATS = 3


def _fast_length(n: int) -> int:
    return int(_core.next_fast_length(int(n)))


class Convolver:
    """Convolution with ``psf`` of an (H, W) box, evaluated at the box pixels where ``output_mask`` is True.

    Every output pixel must lie at least the PSF half-width from the box edge (the box is the unmasked region padded
    by that much), so a circular FFT of the box size itself has no wrap-around at the outputs.

    ``method``: "auto" (the cost model on the CPU; on a GPU, as "measure"), "measure" (time every applicable method
    on :data:`MEASURE_BATCH` random boxes with JAX's default device, jit(vmap), and keep the fastest; ``measured``
    then holds {method: seconds per box}), "direct", "fft" or "separable". Raises ValueError for another method, or
    "separable" with a PSF that is not rank 1.
    """

    def __init__(self, psf, output_mask, method: str = "auto"):
        psf = np.asarray(psf, dtype=np.float64)
        output_mask = np.asarray(output_mask, dtype=bool)
        self.kernel = psf
        self.box_shape = output_mask.shape
        self.flat_index = np.flatnonzero(output_mask)
        # Box coordinates (row, column) of the outputs.
        self.output_rows, self.output_cols = (a.astype(np.int32) for a in np.divmod(self.flat_index, self.box_shape[1]))
        self.runs = runs_from_mask(~output_mask)
        ky, kx = psf.shape
        height, width = self.box_shape
        self.fft_shape = (_fast_length(height), _fast_length(width))
        n_out = len(self.flat_index)
        costs = {"direct": n_out * ky * kx * _NS_PER_DIRECT_MAC}
        n = self.fft_shape[0] * self.fft_shape[1]
        costs["fft"] = n * np.log2(n) * _NS_PER_FFT_NLOGN
        factors = self._separable_factors(psf)
        if factors is not None:
            costs["separable"] = ((height - 2 * (ky // 2)) * width * ky + n_out * kx) * _NS_PER_SEPARABLE_MAC
        self.measured = None
        if method == "auto" and _default_backend() == "gpu":
            method = "measure"
        if psf.shape == (1, 1):
            self.method = "identity"
        elif method == "auto":
            self.method = min(costs, key=costs.get)
        elif method == "measure":
            self.measured = _measure(psf, output_mask, sorted(costs))
            timed = self.measured if self.measured is not None else costs  # None: could not time here (see _measure)
            self.method = min(timed, key=timed.get)
        elif method in ("direct", "fft"):
            self.method = method
        elif method == "separable":
            if factors is None:
                raise ValueError("the PSF is not separable (rank 1), so method='separable' is not available")
            self.method = method
        else:
            raise ValueError(f"convolution method must be 'auto', 'measure', 'direct', 'fft' or 'separable', got {method!r}")
        if self.method == "fft":
            ly, lx = self.fft_shape
            wrapped = np.zeros(self.fft_shape)
            rows = (np.arange(ky) - ky // 2) % ly
            cols = (np.arange(kx) - kx // 2) % lx
            wrapped[np.ix_(rows, cols)] = psf  # kernel centre at index (0, 0)
            self.kernel_fft = np.fft.rfft2(wrapped)
        if self.method == "separable":
            # Vertical pass over every box row that an output needs, then a horizontal pass at the outputs.
            self.column_kernel, self.row_kernel = factors
            hy = ky // 2
            middle = np.zeros(self.box_shape, dtype=bool)
            middle[hy : height - hy, :] = True
            self.middle_runs = runs_from_mask(~middle)
            self.middle_shape = (height - 2 * hy, width)
            self.output_runs = runs_from_mask(~output_mask[hy : height - hy, :])

    @staticmethod
    def _separable_factors(psf):
        """(column kernel (ky, 1), row kernel (1, kx)) with outer product == psf to rounding, or None."""
        u, s, vt = np.linalg.svd(psf)
        if len(s) > 1 and s[1] > SEPARABLE_TOLERANCE * s[0]:
            return None
        column = u[:, :1] * np.sqrt(s[0])
        row = vt[:1, :] * np.sqrt(s[0])
        if column.sum() < 0:
            column, row = -column, -row
        return np.ascontiguousarray(column), np.ascontiguousarray(row)

    def data_arrays(self) -> dict:
        """The PSF's numbers this convolver computes with, {name: numpy array}: ``kernel`` (ky, kx) always (stamps
        of narrow Gaussians use it whatever the method), plus ``kernel_fft`` (L_y, L_x // 2 + 1; complex) for the FFT
        method, or ``column_kernel`` (ky, 1) and ``row_kernel`` (1, kx) for the separable one. Everything else about
        the convolver follows from the PSF's shape, the output mask and the method."""
        return {name: getattr(self, name) for name in ("kernel",) + _METHOD_ARRAYS.get(self.method, ())}

    def with_data_arrays(self, arrays: dict) -> "Convolver":
        """A copy of this convolver that computes with ``arrays`` (``data_arrays``' names and shapes; JAX arrays or
        tracers) in place of its own PSF's numbers. Raises ValueError for other names."""
        if set(arrays) != set(self.data_arrays()):
            raise ValueError(f"a {self.method} convolver computes with {sorted(self.data_arrays())}, got {sorted(arrays)}")
        out = copy.copy(self)
        out.__dict__.update(arrays)
        return out

    def geometry_key(self) -> tuple:
        """What fixes the computation apart from the PSF's numbers (which are ``data_arrays``): the method, the PSF's
        shape and the box (the output mask itself is the plan's)."""
        return (self.method, tuple(self.kernel.shape), tuple(self.box_shape), self.fft_shape)

    def window_columns(self, windows, row0, col0):
        """Values (m, n_out) of the convolutions of m boxes that are zero but for ``windows`` (m, S_y, S_x), whose
        pixel [0, 0] is box pixel (``row0[j]``, ``col0[j]``; (m,) ints, traced allowed): each window convolved with
        the PSF into a (S_y + k_y - 1, S_x + k_x - 1) stamp, read at the outputs it covers. The same numbers as
        ``self(boxes)`` to rounding, for O(S^2 k^2 + n_out) work per window instead of a whole box's convolution;
        window pixels beyond the box edge count as if the box extended there (they reach no output: every output
        lies a PSF half-width inside the box)."""
        import jax
        import jax.numpy as jnp

        ky, kx = self.kernel.shape
        m, sy, sx = windows.shape
        ty, tx = sy + ky - 1, sx + kx - 1
        # Full 2-D convolution stamp[u, v] = sum_ab window[a, b] psf[u - a, v - b], one output feature per window
        # (conv_general_dilated correlates, so the flipped window slides over the static PSF).
        stamps = jax.lax.conv_general_dilated(jnp.asarray(self.kernel)[None, None], windows[:, None, ::-1, ::-1],
                                              (1, 1), [(sy - 1, sy - 1), (sx - 1, sx - 1)])[0]
        # Output p of window j gets sum_ab window[a, b] psf[p - (origin_j + (a, b)) + h] = stamp_j[p - origin_j + h].
        u = self.output_rows[None, :] - jnp.asarray(row0)[:, None] + ky // 2
        v = self.output_cols[None, :] - jnp.asarray(col0)[:, None] + kx // 2
        inside = (u >= 0) & (u < ty) & (v >= 0) & (v < tx)
        flat = jnp.clip(u, 0, ty - 1) * tx + jnp.clip(v, 0, tx - 1)
        values = jnp.take_along_axis(stamps.reshape(m, ty * tx), flat, axis=1)
        return jnp.where(inside, values, 0.0)

    def __call__(self, box):
        """Values (..., n_out) of the convolved box (..., H, W) at the output pixels, in row-major order."""
        if self.method == "identity":
            return box.reshape(box.shape[:-2] + (-1,))[..., self.flat_index] * self.kernel[0, 0]
        if self.method == "direct":
            return psf_convolve(box, self.kernel, self.runs)
        if self.method == "separable":
            middle = psf_convolve(box, self.column_kernel, self.middle_runs)
            middle = middle.reshape(middle.shape[:-1] + self.middle_shape)
            return psf_convolve(middle, self.row_kernel, self.output_runs)
        full = fft_convolve(box, self.kernel_fft, self.fft_shape)
        return full.reshape(full.shape[:-2] + (-1,))[..., self.flat_index]


def _default_backend() -> str:
    import jax

    return jax.default_backend()


#: {(PSF bytes and shape, output mask bytes and shape, methods, platform): {method: seconds per box}}: a measured
#: choice is made once per PSF, mask and device kind in a process (an analysis, its plans and every FitImaging of the
#: same dataset reuse it), so the method, and the numbers, stay the same within the process.
_MEASURED: dict = {}


def _measure(psf, output_mask, methods) -> dict | None:
    """{method: seconds per box} of jit(vmap(Convolver(psf, output_mask, method))) on MEASURE_BATCH random boxes, the
    best of MEASURE_REPEATS calls after one that compiles, on JAX's default device; cached per PSF, mask and platform.
    Called while JAX traces (a Convolver built inside jit), it times eagerly under ``jax.ensure_compile_time_eval``;
    where this jax cannot (0.5 has no eager rule for some primitives there), it returns None and the caller keeps the
    cost model."""
    import jax
    import jax.numpy as jnp

    from galaxyfit._precision import float64

    key = (psf.tobytes(), psf.shape, np.packbits(output_mask).tobytes(), output_mask.shape, tuple(methods),
           _default_backend())
    if key in _MEASURED:
        return dict(_MEASURED[key])
    with float64():
        if not isinstance(jnp.zeros(()), jax.core.Tracer):
            seconds = _time_methods(psf, output_mask, methods)
        else:
            try:
                with jax.ensure_compile_time_eval():
                    seconds = _time_methods(psf, output_mask, methods)
            except NotImplementedError:
                return None
    _MEASURED[key] = dict(seconds)
    return seconds


def _time_methods(psf, output_mask, methods) -> dict:
    import time

    import jax
    import jax.numpy as jnp

    on_device = jnp.asarray(np.random.default_rng(0).random((MEASURE_BATCH,) + tuple(output_mask.shape)))
    seconds = {}
    for method in methods:
        convolve = jax.jit(jax.vmap(Convolver(psf, output_mask, method)))
        convolve(on_device).block_until_ready()
        best = float("inf")
        for _ in range(MEASURE_REPEATS):
            start = time.perf_counter()
            convolve(on_device).block_until_ready()
            best = min(best, time.perf_counter() - start)
        seconds[method] = best / MEASURE_BATCH
    return seconds
