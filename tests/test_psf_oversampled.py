"""Oversampled PSFs (``Imaging.psf_oversampled``): the model against a brute-force float64 computation written here
(sub-pixel means by Gauss-Legendre quadrature of the Gaussian formula, scipy convolution with the fine PSF, N x N
means), over the whole image and in a region; the dataset's checks; linear profiles; jit / vmap / grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

import galaxyfit as gf
from galaxyfit.errors import DatasetError, ModelError
from galaxyfit.fit import FitImaging
from galaxyfit.integration import OverSampling
from galaxyfit.settings import Settings

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

NY, NX, PS, N = 24, 20, 0.1, 3
CENTRE, SIGMA, INTENSITY = (0.03, -0.05), 0.25, 2.0


def exact(convolution="auto"):
    """Settings whose pixel integrals are 6 x 6 Gauss-Legendre over (nearly) every pixel and sub-pixel (a patch of
    radius 45), so comparisons with the brute force test the convolution and binning, not the default rule's
    1e-6-level integration error at 2.5 pixels per sigma."""
    return Settings(over_sampling=OverSampling(patch_rings=((1, 6), (45, 6))), convolution=convolution)


def fine_psf():
    """An asymmetric, off-centre PSF (15 x 15 fine pixels): a transposed or flipped kernel would not match."""
    k = np.arange(15) - 7
    y, x = np.meshgrid(k, k, indexing="ij")
    psf = np.exp(-0.5 * ((y - 0.7) ** 2 / 2.2**2 + (x + 0.4) ** 2 / 3.0**2)) + 0.3 * np.exp(-0.5 * ((y - 3) ** 2 + (x - 2) ** 2) / 1.5**2)
    return psf / psf.sum()


def coarse_psf():
    psf = np.array([[1.0, 2.0, 1.0], [1.0, 6.0, 3.0], [0.5, 1.0, 1.0]])
    return psf / psf.sum()


def gaussian_means(shape, origin, step, centre=CENTRE):
    """Means of I0 exp(-r^2 / 2 sigma^2) over square pixels of side ``step`` (arcsec): ``shape`` pixels whose
    [0, 0] has its lower-left corner at ``origin`` (y, x); 8 x 8 Gauss-Legendre nodes per pixel."""
    nodes, weights = np.polynomial.legendre.leggauss(8)
    nodes, weights = nodes / 2.0 + 0.5, weights / 2.0
    yc = origin[0] + np.arange(shape[0]) * step
    xc = origin[1] + np.arange(shape[1]) * step
    dy = yc[:, None, None, None] + nodes[None, None, :, None] * step - centre[0]
    dx = xc[None, :, None, None] + nodes[None, None, None, :] * step - centre[1]
    values = INTENSITY * np.exp(-(dy**2 + dx**2) / (2.0 * SIGMA**2))
    return np.einsum("ijab,a,b->ij", values, weights, weights)


def brute_force_fine(centre=CENTRE):
    """(NY, NX): sub-pixel means on a canvas padded by the fine PSF's half-width, convolved ('valid'), averaged."""
    psf = fine_psf()
    h = psf.shape[0] // 2
    fine = PS / N
    corner = (-(NY / 2.0) * PS - h * fine, -(NX / 2.0) * PS - h * fine)  # lower-left corner of the padded canvas
    image = gaussian_means((NY * N + 2 * h, NX * N + 2 * h), corner, fine, centre)
    blurred = scipy.signal.convolve2d(image, psf, mode="valid")
    return blurred.reshape(NY, N, NX, N).mean(axis=(1, 3))


def brute_force_coarse():
    psf = coarse_psf()
    h = psf.shape[0] // 2
    corner = (-(NY / 2.0) * PS - h * PS, -(NX / 2.0) * PS - h * PS)
    image = gaussian_means((NY + 2 * h, NX + 2 * h), corner, PS)
    return scipy.signal.convolve2d(image, psf, mode="valid")


def dataset(region=None, mask=None):
    data = np.zeros((NY, NX))
    return gf.Imaging(data, np.ones((NY, NX)), coarse_psf(), PS, mask=mask, psf_oversampled=fine_psf(), psf_oversampling=N,
                      psf_oversampled_region=region)


def galaxy(centre=CENTRE):
    return gf.Galaxy(0.5, blob=gf.lp.Gaussian(centre=centre, intensity=INTENSITY, sigma=SIGMA))


@pytest.mark.parametrize("convolution", ["direct", "fft"])
def test_whole_image_matches_brute_force_and_differs_from_the_normal_psf(convolution):
    fine = brute_force_fine()
    fit = FitImaging(dataset(), [galaxy()], settings=exact(convolution))
    assert fit.plan.psf_oversampled.convolver.method == convolution
    model = np.asarray(fit.blurred_image)
    assert np.abs(model - fine).max() < 1e-11 * fine.max()
    # With the default integration rule, to its accuracy.
    default = np.asarray(FitImaging(dataset(), [galaxy()]).blurred_image)
    assert np.abs(default - fine).max() < 1e-7 * fine.max()
    # The test can tell the paths apart: the normal-PSF model is far from the oversampled one.
    assert np.abs(brute_force_coarse() - fine).max() > 1e-2 * fine.max()


def test_region_uses_the_fine_psf_inside_and_the_normal_psf_outside():
    region = (5, 17, 3, 11)  # rows 5..16, columns 3..10
    mask = np.zeros((NY, NX), dtype=bool)
    mask[:2, :] = True
    mask[8, 6] = True  # a masked pixel inside the region
    model = np.asarray(FitImaging(dataset(region, mask), [galaxy()], settings=exact()).blurred_image)
    expected = brute_force_coarse()
    expected[5:17, 3:11] = brute_force_fine()[5:17, 3:11]
    expected[mask] = 0.0
    assert np.abs(model - expected).max() < 1e-11 * expected.max()


def test_linear_profile_columns_and_point_sources_follow_the_oversampled_path():
    region = (4, 20, 2, 16)
    ds = dataset(region).apply_mask(np.zeros((NY, NX), dtype=bool))  # the copy keeps the oversampled PSF
    assert ds.psf_oversampling == N and ds.psf_oversampled_region == region
    truth = FitImaging(ds, [galaxy()]).blurred_image_slim
    # (noise 1e-3: the solver's 1e-3 on the curvature diagonal then biases the amplitude by ~1e-9 only)
    simulated = gf.Imaging(np.asarray(FitImaging(ds, [galaxy()]).blurred_image), np.full((NY, NX), 1e-3), coarse_psf(), PS,
                           psf_oversampled=fine_psf(), psf_oversampling=N, psf_oversampled_region=region)
    linear = gf.Galaxy(0.5, blob=gf.lp_linear.Gaussian(centre=CENTRE, sigma=SIGMA))
    fit = FitImaging(simulated, [linear])
    # Noise-free data made by the parametric path: the linear solve recovers the intensity and the model exactly.
    assert float(fit.inversion.reconstruction[0]) == pytest.approx(INTENSITY, rel=1e-6)
    assert np.abs(np.asarray(fit.blurred_image_slim) - np.asarray(truth)).max() < 1e-6 * float(jnp.max(truth))
    # A point source on the centre of pixel (12, 10), which is the centre of fine pixel (37, 31): the fine PSF
    # placed there (no interpolation at a whole fine pixel), each pixel the sum of its sub-pixels' share.
    point = gf.Galaxy(0.5, p=gf.lp.PointSource(centre=((12 - (NY - 1) / 2) * PS, (10 - (NX - 1) / 2) * PS), intensity=5.0))
    image = np.asarray(FitImaging(dataset(), [point]).blurred_image)
    delta = np.zeros((NY * N, NX * N))
    delta[12 * N + 1, 10 * N + 1] = 1.0
    expected = 5.0 * scipy.signal.convolve2d(delta, fine_psf(), mode="same").reshape(NY, N, NX, N).sum(axis=(1, 3))
    assert np.abs(image - expected).max() < 1e-12
    linear_point = FitImaging(gf.Imaging(expected, np.full((NY, NX), 1e-3), coarse_psf(), PS, psf_oversampled=fine_psf(),
                                         psf_oversampling=N), [gf.Galaxy(0.5, p=gf.lp_linear.PointSource(centre=(0.05, 0.05)))])
    assert float(linear_point.inversion.reconstruction[0]) == pytest.approx(5.0, rel=1e-7)  # the 1e-3 diagonal: ~1e-8


def test_likelihood_under_jit_vmap_and_grad_matches_loops_and_finite_differences():
    region = (3, 21, 2, 18)
    truth = brute_force_coarse()
    truth[3:21, 2:18] = brute_force_fine()[3:21, 2:18]
    rng = np.random.default_rng(1)
    data = truth + 0.01 * rng.standard_normal(truth.shape)
    ds = gf.Imaging(data, np.full((NY, NX), 0.01), coarse_psf(), PS, psf_oversampled=fine_psf(), psf_oversampling=N,
                    psf_oversampled_region=region)
    analysis = gf.AnalysisImaging(ds, settings=exact())

    def log_l(v):
        g = gf.Galaxy(0.5, blob=gf.lp.Gaussian(centre=(v[0], v[1]), ell_comps=(v[2], 0.0), intensity=v[3], sigma=v[4]))
        return analysis.log_likelihood_function(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=g)))

    base = jnp.array([0.03, -0.05, 0.05, 2.0, 0.25])
    batch = base + jnp.array([[0.0] * 5, [0.02, 0, 0, 0, 0], [0, 0.01, 0.02, 0.1, 0.03]])
    compiled = jax.jit(log_l)
    batched = jax.jit(jax.vmap(log_l))(batch)
    for i in range(3):
        assert float(batched[i]) == pytest.approx(float(compiled(batch[i])), rel=1e-12)
    # The likelihood at the truth with the brute-force model: chi^2 from numpy.
    chi2 = np.sum(((data - truth) / 0.01) ** 2)
    expected = -0.5 * (chi2 + NY * NX * np.log(2 * np.pi * 0.01**2))
    one = jnp.array([0.03, -0.05, 0.0, 2.0, 0.25])
    assert float(compiled(one)) == pytest.approx(expected, abs=1e-7)
    grad = jax.jit(jax.grad(log_l))(base)
    eps = 1e-6
    for k in range(5):
        step = jnp.zeros(5).at[k].set(eps)
        fd = (compiled(base + step) - compiled(base - step)) / (2 * eps)
        assert float(grad[k]) == pytest.approx(float(fd), rel=1e-5, abs=1e-3)


def test_dataset_checks_name_the_argument():
    data, noise = np.zeros((NY, NX)), np.ones((NY, NX))
    with pytest.raises(DatasetError, match="psf_oversampling must be an integer >= 1"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=fine_psf(), psf_oversampling=0)
    with pytest.raises(DatasetError, match="psf_oversampling must be an integer"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=fine_psf(), psf_oversampling=2.5)
    with pytest.raises(DatasetError, match="psf_oversampled needs psf_oversampling"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=fine_psf())
    with pytest.raises(DatasetError, match="psf_oversampling was given without psf_oversampled"):
        gf.Imaging(data, noise, None, PS, psf_oversampling=3)
    with pytest.raises(DatasetError, match="psf_oversampled shape .* must be odd"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=np.ones((4, 5)), psf_oversampling=3)
    with pytest.raises(DatasetError, match="psf_oversampled_region .* must satisfy"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=fine_psf(), psf_oversampling=3, psf_oversampled_region=(0, 25, 0, 5))
    with pytest.raises(DatasetError, match="psf_oversampled_region must be four integers"):
        gf.Imaging(data, noise, None, PS, psf_oversampled=fine_psf(), psf_oversampling=3, psf_oversampled_region=(0, 5))
    ds = gf.Imaging(data, noise, None, PS, psf_oversampled=3.0 * fine_psf(), psf_oversampling=3, psf_oversampled_region=(1, 4, 2, 6))
    assert ds.psf_oversampled.sum() == pytest.approx(1.0) and ds.psf_oversampled_sum == pytest.approx(3.0)
    described = ds.description()["psf_oversampled"]
    assert described["oversampling"] == 3 and described["region"] == [1, 4, 2, 6] and described["shape"] == [15, 15]


def test_from_fits_reads_the_oversampled_psf_and_names_its_file(tmp_path):
    from astropy.io import fits

    fits.PrimaryHDU(np.zeros((NY, NX))).writeto(tmp_path / "data.fits")
    fits.PrimaryHDU(np.ones((NY, NX))).writeto(tmp_path / "noise.fits")
    fits.PrimaryHDU(fine_psf()).writeto(tmp_path / "fine.fits")
    fits.PrimaryHDU(np.ones((4, 4))).writeto(tmp_path / "even.fits")
    ds = gf.Imaging.from_fits(tmp_path / "data.fits", PS, noise_map_path=tmp_path / "noise.fits",
                              psf_oversampled_path=tmp_path / "fine.fits", psf_oversampling=N, psf_oversampled_region=(0, 4, 0, 4))
    assert np.allclose(ds.psf_oversampled, fine_psf()) and ds.description()["psf_oversampled"]["file"].endswith("fine.fits")
    with pytest.raises(DatasetError, match=r"psf_oversampled shape \(4, 4\).*psf oversampled file .*even.fits"):
        gf.Imaging.from_fits(tmp_path / "data.fits", PS, noise_map_path=tmp_path / "noise.fits",
                             psf_oversampled_path=tmp_path / "even.fits", psf_oversampling=N)


def test_pixelizations_are_refused_with_an_oversampled_psf():
    pix = gf.Galaxy(0.5, pixelization=gf.Pixelization(mesh=gf.mesh.RectangularUniform((6, 6)), regularization=gf.reg.Constant(1.0)))
    with pytest.raises(ModelError, match="oversampled PSF .* not implemented with pixelizations"):
        FitImaging(dataset(), [pix])


def test_imfit_region_syntax_is_converted_to_half_open_rows_and_columns():
    from galaxyfit.dataset.imaging import psf_oversampled_region_from_imfit

    # Imfit's x1:x2,y1:y2 = 3:7,10:12 (1-based, inclusive) covers columns 2..6 and rows 9..11 (0-based).
    region = psf_oversampled_region_from_imfit("3:7,10:12")
    assert region == (9, 12, 2, 7)
    picked = np.zeros((NY, NX), dtype=bool)
    picked[region[0]:region[1], region[2]:region[3]] = True
    assert picked.sum() == 5 * 3 and picked[9, 2] and picked[11, 6] and not picked[12, 6] and not picked[11, 7]
    for bad in ("3:7", "a:b,1:2", "0:4,1:2", "5:4,1:2"):
        with pytest.raises(DatasetError, match="oversampled PSF region"):
            psf_oversampled_region_from_imfit(bad)


def test_a_saved_fit_keeps_its_oversampled_psf(tmp_path):
    """image/dataset.fits stores the fine PSF, its factor and region; the folder's analysis gives the same ln L."""
    from galaxyfit.analysis.outputs import read_dataset_fits, write_dataset_fits
    from galaxyfit.analysis.reload import analysis_from_folder
    from galaxyfit.model import Collection, Model
    from galaxyfit.search import LevenbergMarquardt

    data = dataset(region=(3, 15, 4, 16))
    write_dataset_fits(data, tmp_path / "dataset.fits")
    back = read_dataset_fits(tmp_path / "dataset.fits")
    np.testing.assert_array_equal(back.psf_oversampled, data.psf_oversampled)
    assert (back.psf_oversampling, back.psf_oversampled_region) == (data.psf_oversampling, (3, 15, 4, 16))
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, light=gf.lp.Gaussian)))
    search = LevenbergMarquardt(name="fine", output_path=str(tmp_path / "out"), seed=1)
    result = search.fit(model, gf.AnalysisImaging(data))
    again = analysis_from_folder(search.paths.folder)
    assert again.dataset.psf_oversampled_region == (3, 15, 4, 16)
    instance = result.max_log_likelihood_instance
    assert float(again.log_likelihood_function(instance)) == pytest.approx(
        float(gf.AnalysisImaging(data).log_likelihood_function(instance)), rel=1e-13)
