"""PSF convolution kernels against scipy.signal in float64, adjoint identities, JAX transformations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

import galaxyfit  # noqa: F401  (float64 mode)
import galaxyfit as gf
from galaxyfit import _core
from galaxyfit.kernels import psf_convolve, psf_convolve_adjoint, runs_from_mask

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

CASES = [
    # image shape, kernel shape, mask kind
    ((40, 37), (7, 7), "circle"),
    ((33, 50), (5, 9), "offcentre"),
    ((64, 64), (21, 21), "circle"),
    ((30, 45), (13, 3), "none"),
    ((6, 5), (11, 9), "none"),  # image smaller than the kernel
    ((25, 25), (1, 1), "offcentre"),
]


def make_case(image_shape, kernel_shape, mask_kind, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=image_shape)
    kernel = rng.random(kernel_shape)
    ny, nx = image_shape
    yy, xx = np.mgrid[:ny, :nx]
    if mask_kind == "circle":
        mask = (yy - ny / 2) ** 2 + (xx - nx / 2) ** 2 > (0.4 * min(ny, nx)) ** 2
    elif mask_kind == "offcentre":  # touches the image edge, where zero padding matters
        mask = (yy - 0.8 * ny) ** 2 + (xx - 0.15 * nx) ** 2 > (0.5 * min(ny, nx)) ** 2
    else:
        mask = np.zeros(image_shape, bool)
    return image, kernel, mask


@pytest.mark.parametrize("image_shape,kernel_shape,mask_kind", CASES)
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_pybind_matches_scipy(image_shape, kernel_shape, mask_kind, method):
    image, kernel, mask = make_case(image_shape, kernel_shape, mask_kind)
    reference = scipy.signal.convolve(image, kernel, mode="same", method="direct")
    scale = np.abs(reference).max()
    slim = _core.convolve(image, kernel, mask, method)
    assert slim.shape == ((~mask).sum(),)
    assert np.abs(slim - reference[~mask]).max() <= 1e-12 * scale
    full = _core.convolve(image, kernel, None, method)
    assert np.abs(full - reference).max() <= 1e-12 * scale


@pytest.mark.parametrize("image_shape,kernel_shape,mask_kind", CASES)
def test_ffi_matches_scipy(image_shape, kernel_shape, mask_kind):
    image, kernel, mask = make_case(image_shape, kernel_shape, mask_kind)
    reference = scipy.signal.convolve(image, kernel, mode="same", method="direct")[~mask]
    runs = runs_from_mask(mask)
    out = jax.jit(lambda a: psf_convolve(a, kernel, runs))(image)
    assert out.dtype == jnp.float64
    assert np.abs(np.asarray(out) - reference).max() <= 1e-12 * np.abs(reference).max()


@pytest.mark.parametrize("image_shape,kernel_shape,mask_kind", CASES)
def test_adjoint_is_exact(image_shape, kernel_shape, mask_kind):
    image, kernel, mask = make_case(image_shape, kernel_shape, mask_kind, seed=1)
    y = np.random.default_rng(2).normal(size=(~mask).sum())
    runs = runs_from_mask(mask)
    cx = np.asarray(psf_convolve(image, kernel, runs))
    cty = np.asarray(psf_convolve_adjoint(y, kernel, runs, image.shape))
    lhs, rhs = cx @ y, (image * cty).sum()
    assert abs(lhs - rhs) <= 1e-12 * (np.abs(cx) @ np.abs(y))
    np.testing.assert_allclose(_core.convolve_adjoint(y, kernel, mask), cty, rtol=0, atol=1e-12 * np.abs(cty).max())
    # Explicit matrix check on the transpose, column by column through scipy.
    ny, nx = image.shape
    basis = np.zeros(image.shape)
    for p in np.random.default_rng(3).choice(ny * nx, 5, replace=False):
        basis.flat[:] = 0.0
        basis.flat[p] = 1.0
        column = scipy.signal.convolve(basis, kernel, mode="same")[~mask]
        assert abs(column @ y - cty.flat[p]) <= 1e-12 * max(1.0, np.abs(cty).max())


def test_gradients_match_finite_differences():
    image, kernel, mask = make_case((24, 21), (5, 7), "offcentre", seed=4)
    runs = runs_from_mask(mask)
    weights = np.random.default_rng(5).normal(size=(~mask).sum())

    def loss(a):
        out = psf_convolve(a, kernel, runs)
        return jnp.sum(weights * out) + 0.5 * jnp.sum(out**2)

    grad = np.asarray(jax.jit(jax.grad(loss))(image))
    eps = 1e-6
    for p in [0, 17, 200, 480, 503]:
        e = np.zeros(image.shape)
        e.flat[p] = eps
        fd = (loss(image + e) - loss(image - e)) / (2 * eps)
        assert abs(float(grad.flat[p]) - float(fd)) <= 1e-6 * max(1.0, abs(float(fd)))


def test_forward_reverse_and_second_order_modes_agree_with_the_matrix():
    image, kernel, mask = make_case((9, 8), (3, 5), "offcentre", seed=6)
    runs = runs_from_mask(mask)
    f = lambda a: psf_convolve(a, kernel, runs)  # noqa: E731
    # Explicit convolution matrix from scipy, one unit image at a time.
    matrix = np.stack(
        [scipy.signal.convolve(np.eye(1, image.size, p).reshape(image.shape), kernel, mode="same")[~mask] for p in range(image.size)],
        axis=-1,
    ).reshape((~mask).sum(), *image.shape)
    np.testing.assert_allclose(jax.jacfwd(f)(image), matrix, atol=1e-13)
    np.testing.assert_allclose(jax.jacrev(f)(image), matrix, atol=1e-13)
    # Hessian of 0.5 |C x|^2 is C^T C.
    hess = jax.hessian(lambda a: 0.5 * jnp.sum(f(a) ** 2))(image).reshape(image.size, image.size)
    flat = matrix.reshape(matrix.shape[0], -1)
    np.testing.assert_allclose(hess, flat.T @ flat, atol=1e-12)
    # jvp and vjp of the adjoint primitive (its own transpose is the forward convolution).
    y = np.random.default_rng(7).normal(size=(~mask).sum())
    g = lambda v: psf_convolve_adjoint(v, kernel, runs, image.shape)  # noqa: E731
    np.testing.assert_allclose(jax.jacfwd(g)(y).reshape(image.size, -1), flat.T, atol=1e-13)
    np.testing.assert_allclose(jax.jacrev(g)(y).reshape(image.size, -1), flat.T, atol=1e-13)


def test_vmap_is_one_batched_call_and_matches_a_loop():
    image, kernel, mask = make_case((30, 28), (7, 5), "circle", seed=8)
    runs = runs_from_mask(mask)
    rng = np.random.default_rng(9)
    images = rng.normal(size=(4, *image.shape))
    kernels = rng.random((4, *kernel.shape))
    loop = np.stack([np.asarray(psf_convolve(images[i], kernels[i], runs)) for i in range(4)])
    both = jax.jit(jax.vmap(lambda a, k: psf_convolve(a, k, runs)))(images, kernels)
    np.testing.assert_allclose(both, loop, rtol=0, atol=1e-13)
    only_images = jax.vmap(lambda a: psf_convolve(a, kernel, runs))(images)
    np.testing.assert_allclose(only_images[2], psf_convolve(images[2], kernel, runs), atol=1e-13)
    only_kernels = jax.vmap(lambda k: psf_convolve(image, k, runs))(kernels)
    np.testing.assert_allclose(only_kernels[1], psf_convolve(image, kernels[1], runs), atol=1e-13)
    # Nested vmap with the kernel batched only on the outer axis.
    nested = jax.vmap(jax.vmap(lambda a, k: psf_convolve(a, k, runs), in_axes=(0, None)), in_axes=(0, 0))(
        np.stack([images, images[::-1]]), kernels[:2]
    )
    np.testing.assert_allclose(nested[1, 0], psf_convolve(images[3], kernels[1], runs), atol=1e-13)
    # One custom call in the batched program, not a loop.
    hlo = jax.jit(jax.vmap(lambda a: psf_convolve(a, kernel, runs))).lower(images).as_text()
    assert hlo.count("galaxyfit_psf_convolve_f64") == 1
    assert "while" not in hlo
    # vmap of grad.
    grads = jax.vmap(jax.grad(lambda a: jnp.sum(psf_convolve(a, kernel, runs) ** 2)))(images)
    for i in range(4):
        single = jax.grad(lambda a: jnp.sum(psf_convolve(a, kernel, runs) ** 2))(images[i])
        np.testing.assert_allclose(grads[i], single, atol=1e-12)


def test_bad_arguments_raise_clear_errors():
    image, kernel, mask = make_case((10, 10), (3, 3), "none")
    runs = runs_from_mask(mask)
    with pytest.raises(ValueError, match="odd"):
        psf_convolve(image, np.ones((4, 3)), runs)
    with pytest.raises(ValueError, match="odd"):
        _core.convolve(image, np.ones((3, 4)), None, "direct")
    with pytest.raises(ValueError, match="mask shape"):
        _core.convolve(image, kernel, np.zeros((9, 10), bool), "auto")
    with pytest.raises(ValueError, match="method"):
        _core.convolve(image, kernel, None, "fourier")
    with pytest.raises(NotImplementedError, match="kernel"):
        jax.grad(lambda k: jnp.sum(psf_convolve(image, k, runs)))(kernel)
    # Runs are checked against the image before any kernel sees them (the CUDA handlers rely on it).
    bad = np.array([[0, 0, 10], [10, 2, 5]], dtype=np.int32)  # row 10 of a 10-row image
    with pytest.raises(ValueError, match=r"pixel run 1 \(row 10, columns 2\.\.5\) lies outside the 10 x 10 image"):
        psf_convolve(image, kernel, bad)
    with pytest.raises(ValueError, match="pixel run 0 .* lies outside"):
        psf_convolve_adjoint(np.ones(3), kernel, np.array([[2, 8, 11]]), (10, 10))
    with pytest.raises(ValueError, match="values must end in the runs' 100 pixels"):
        psf_convolve_adjoint(np.ones(99), kernel, runs, (10, 10))


def test_fft_convolution_primitive_matches_scipy_and_differentiates():
    """The FFT path's primitive: scipy-equal values, an exact adjoint, and vmap/jacfwd/grad/hessian equal to plain
    jnp.fft code (its batching rule loops over images instead of using XLA's batched FFT)."""
    from galaxyfit.kernels.fft_convolution import _compute, fft_convolve

    rng = np.random.default_rng(3)
    height, width, shape = 30, 26, (40, 36)
    kernel = rng.random((7, 5))
    placed = np.zeros(shape)
    placed[:7, :5] = kernel
    spectrum = np.fft.rfft2(np.roll(placed, (-3, -2), axis=(0, 1)))
    image = rng.random((height, width))
    expected = scipy.signal.convolve(image, kernel, mode="same")
    got = np.asarray(fft_convolve(image, spectrum, shape))
    assert np.abs(got[3:-3, 2:-2] - expected[3:-3, 2:-2]).max() <= 1e-12 * np.abs(expected).max()  # away from wrap
    other = rng.random((height, width))
    lhs = np.sum(got * other)
    rhs = np.sum(image * np.asarray(fft_convolve(other, spectrum, shape, adjoint=True)))
    assert abs(lhs - rhs) <= 1e-13 * abs(lhs)

    base = jnp.asarray(image)

    def ours(p):
        return jnp.sum(jnp.sin(fft_convolve(base * p[0] + p[1], spectrum, shape)))

    def plain(p):
        return jnp.sum(jnp.sin(_compute(base * p[0] + p[1], spectrum, fft_shape=shape, adjoint=False)))

    p = jnp.array([1.3, 0.2])
    batch = jnp.stack([p, 2.0 * p, -p])
    for transform in (jax.grad, jax.jacfwd, jax.hessian):
        np.testing.assert_allclose(transform(ours)(p), transform(plain)(p), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(jax.vmap(ours)(batch), jax.vmap(plain)(batch), rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(jax.grad(ours))(batch), jax.vmap(jax.grad(plain))(batch), rtol=1e-11, atol=1e-11)


def test_a_batch_of_fft_convolutions_loops_on_the_cpu_and_is_one_transform_on_a_gpu():
    """vmap keeps a batch in one primitive; the CPU lowering loops over it (XLA's batched FFT is slower there), the
    CUDA lowering (lowered here without a GPU) is one batched transform, as cuFFT plans it."""
    from galaxyfit.kernels.fft_convolution import _compute, fft_convolve

    rng = np.random.default_rng(5)
    spectrum = np.fft.rfft2(rng.random((40, 36)))
    images = jnp.asarray(rng.random((3, 30, 26)))

    def batched(x):
        return jax.vmap(lambda one: fft_convolve(one, spectrum, (40, 36)))(x)

    with gf.float64():
        np.testing.assert_allclose(jax.jit(batched)(images),
                                   np.stack([_compute(one, spectrum, fft_shape=(40, 36), adjoint=False) for one in images]),
                                   rtol=1e-13, atol=1e-13)
        cpu = jax.jit(batched).trace(images).lower(lowering_platforms=("cpu",)).as_text()
        gpu = jax.jit(batched).trace(images).lower(lowering_platforms=("cuda",)).as_text()
    assert "stablehlo.while" in cpu and "stablehlo.fft" in cpu and "tensor<3x40x36xf64>" not in cpu.split("stablehlo.fft")[1][:300]
    assert "stablehlo.while" not in gpu
    ffts = [line for line in gpu.splitlines() if "stablehlo.fft" in line]
    assert ffts and all("tensor<3x" in line for line in ffts), ffts  # every transform over the whole batch


def test_a_measured_convolution_method_is_the_fastest_of_those_timed_and_computes_the_same():
    from galaxyfit.fit import convolver as module
    from galaxyfit.fit.convolver import Convolver

    rng = np.random.default_rng(2)
    psf = np.outer(np.hanning(9)[1:-1], np.hanning(11)[1:-1]) + 0.01 * rng.random((7, 9))  # not separable
    mask = np.zeros((40, 44), dtype=bool)
    mask[6:-6, 6:-6] = True
    measured = Convolver(psf, mask, "measure")
    assert set(measured.measured) == {"direct", "fft"} and all(t > 0 for t in measured.measured.values())
    assert measured.method == min(measured.measured, key=measured.measured.get)
    box = jnp.asarray(rng.random((40, 44)))
    with gf.float64():
        reference = np.asarray(Convolver(psf, mask, "direct")(box))
        np.testing.assert_allclose(np.asarray(measured(box)), reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())
    assert Convolver(psf, mask, "auto").measured is None  # the CPU's cost model: nothing timed
    gaussian = np.outer(np.hanning(9)[1:-1], np.hanning(9)[1:-1])  # rank 1: the separable passes are timed too
    original = module._default_backend
    module._default_backend = lambda: "gpu"  # "auto" on a GPU measures
    try:
        on_gpu = Convolver(gaussian, mask, "auto")
    finally:
        module._default_backend = original
    assert set(on_gpu.measured) == {"direct", "fft", "separable"} and on_gpu.method in on_gpu.measured
    module._default_backend = lambda: "gpu"
    try:  # built while JAX traces (a FitImaging without a plan, inside jit): measured eagerly, and once per PSF
        @jax.jit
        def traced(x):
            return Convolver(gaussian, mask, "auto")(x).sum()

        module._MEASURED.clear()  # measured for the first time inside the trace (or, on jax 0.5, the cost model)
        with gf.float64():
            traced(box)
        again = Convolver(gaussian, mask, "measure")
        again_cached = Convolver(gaussian, mask, "measure")
    finally:
        module._default_backend = original
    assert again.measured is not None and set(again.measured) == {"direct", "fft", "separable"}
    assert again_cached.measured == again.measured  # cached: one method throughout the process
    assert gf.Settings(convolution="measure").convolution == "measure"
    with pytest.raises(ValueError, match="'auto', 'measure', 'direct'"):
        gf.Settings(convolution="cufft")
