"""How much memory a batch of likelihoods needs (``AnalysisImaging.print_vram_use``).

XLA reports what its compiled program allocates (``compiled.memory_analysis()``: outputs and temporaries), but not
what galaxyfit's C++ handlers allocate inside a custom call: the direct convolution's padded and scattered images,
the inversion's Gram matrix and Cholesky factor. Those are added here from the shapes the handlers use (an upper
bound: each handler's scratch for every likelihood of the batch at once, as a vmapped call on a device would hold
it). PyAutoFit's ``print_vram_use`` reports XLA's part alone (``outputs_notes.md`` 1.7), which under-counted
gradient batches badly enough to run out of memory (PyAutoFit#1452).
"""

from __future__ import annotations

import numpy as np

from galaxyfit import _precision as precision

BYTES = 8  # float64


@precision.in_float64
def ffi_scratch_bytes(analysis, model) -> int:
    """Scratch bytes galaxyfit's custom calls allocate for ONE likelihood of ``model`` (at its prior medians): per
    convolved image a padded and a scattered copy of the image box, per inversion a (k+1)^2 Gram matrix, its
    factor and work vectors (k = linear columns plus mesh pixels)."""
    from galaxyfit.fit.fit_imaging import FitImaging

    instance = model.instance_from_prior_medians()
    galaxies = analysis.galaxies_via_instance_from(instance)
    ny, nx = analysis.dataset.shape
    ky, kx = analysis.dataset.psf.shape
    box = (ny + ky - 1) * (nx + kx - 1)
    components = sum(len(g.components) for g in galaxies)
    convolutions = max(1, components)
    scratch = convolutions * 2 * box * BYTES
    fit = FitImaging(analysis.dataset, galaxies, None, plan=analysis.plan, adapt_images=analysis.adapt_images)
    try:
        inversion = fit.inversion
    except Exception:  # noqa: BLE001 - a model this cannot build has no inversion to count
        inversion = None
    if inversion is not None:
        k = int(np.asarray(inversion.curvature_reg_matrix).shape[-1])
        scratch += (3 * (k + 1) ** 2 + 6 * (k + 1)) * BYTES
    return int(scratch)


@precision.in_float64
def batched_memory_bytes(analysis, model, batch_size: int, gradient: bool = False) -> dict:
    """{"xla_bytes", "ffi_scratch_bytes", "total_bytes", "device"} of one jit-compiled batch of ``batch_size``
    likelihoods of ``model`` (with ``gradient``: ``value_and_grad``), batched as searches batch it (a vmap, or a
    lax.map for models with linear objects). Compiles the program without running it."""
    import jax
    import jax.numpy as jnp

    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")

    def one(vector):
        return analysis.log_likelihood_function(model.instance_from_vector(vector))

    function = jax.value_and_grad(one) if gradient else one
    chunk = analysis.batch_chunk_size(model) if hasattr(analysis, "batch_chunk_size") else None
    if chunk is None:
        batched = jax.vmap(function)
        concurrent = int(batch_size)
    else:
        batched = lambda vectors: jax.lax.map(function, vectors, batch_size=None if chunk == 1 else chunk)  # noqa: E731
        concurrent = int(chunk)
    vectors = jnp.asarray(np.repeat(model.prior_medians[None, :], int(batch_size), axis=0))
    compiled = precision.jit(batched).lower(vectors).compile()
    analysis_ = compiled.memory_analysis()
    xla = 0 if analysis_ is None else int(analysis_.output_size_in_bytes + analysis_.temp_size_in_bytes
                                            + analysis_.argument_size_in_bytes)
    scratch = ffi_scratch_bytes(analysis, model) * concurrent * (2 if gradient else 1)
    return {"xla_bytes": xla, "ffi_scratch_bytes": scratch, "total_bytes": xla + scratch,
            "device": jax.devices()[0].platform}
