"""Datasets: orientation, masks, noise models and the errors bad input gets."""

import warnings

import numpy as np
import pytest
from astropy.io import fits

from galaxyfit.dataset import Imaging, Mask, imfit_noise_map, noise_map_from_variance, pixel_centres
from galaxyfit.errors import DatasetError


def test_pixel_centres_follow_the_fits_orientation():
    y, x = pixel_centres((4, 5), (0.5, 0.2))
    # Row 0 is the bottom (smallest y); the origin is the array centre.
    np.testing.assert_allclose(y, [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(x, [-0.4, -0.2, 0.0, 0.2, 0.4])


@pytest.mark.parametrize("shape,pixel_scale,expected", [(100, 0.1, 2828), (200, 0.05, 11304), (400, 0.025, 45244)])
def test_circular_mask_pixel_counts_of_the_benchmark_sets(shape, pixel_scale, expected):
    mask = Mask.circular((shape, shape), pixel_scale, radius=3.0)
    assert mask.pixels_in_mask == expected


def test_circular_mask_keeps_centres_within_the_radius():
    mask = Mask.circular((11, 11), 1.0, radius=2.0, centre=(1.0, -2.0))
    y, x = pixel_centres((11, 11), 1.0)
    r = np.hypot(y[:, None] - 1.0, x[None, :] + 2.0)
    np.testing.assert_array_equal(~mask.array, r <= 2.0)
    assert (~mask.array)[6, 3]  # the centre pixel (y=1 -> row 6, x=-2 -> column 3) is kept


def test_from_fits_reads_big_endian_arrays_without_flipping(tmp_path):
    data = np.arange(12.0).reshape(3, 4)
    fits.PrimaryHDU(data.astype(">f4")).writeto(tmp_path / "data.fits")
    fits.PrimaryHDU(np.full((3, 4), 2.0, dtype=">f8")).writeto(tmp_path / "noise.fits")
    fits.PrimaryHDU(np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 5]], dtype=">i4")).writeto(tmp_path / "mask.fits")
    imaging = Imaging.from_fits(tmp_path / "data.fits", 0.1, noise_map_path=tmp_path / "noise.fits", mask_path=tmp_path / "mask.fits")
    np.testing.assert_array_equal(imaging.data, data)  # row 0 stays row 0
    assert imaging.data.dtype == np.float64 and imaging.data.dtype.isnative
    assert imaging.mask.array[0, 1] and imaging.mask.array[2, 3] and imaging.pixels_in_mask == 10
    variance = Imaging.from_fits(tmp_path / "data.fits", 0.1, noise_map_path=tmp_path / "noise.fits", noise_map_is_variance=True)
    np.testing.assert_allclose(variance.noise_map, np.sqrt(2.0))


def test_images_in_a_fits_extension_are_found(tmp_path):
    """Pipelines often leave the primary HDU empty and store the image in extension 1: by default the first HDU
    holding data is read; an explicit HDU still means that HDU."""
    data = np.arange(12.0).reshape(3, 4) + 1.0
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI"), fits.ImageHDU(data * 0 + 0.5, name="ERR")]).writeto(tmp_path / "d.fits")
    imaging = Imaging.from_fits(tmp_path / "d.fits", 0.1, noise_map_path=tmp_path / "d.fits", noise_map_hdu="ERR")
    np.testing.assert_array_equal(imaging.data, data)
    np.testing.assert_array_equal(imaging.noise_map, 0.5)
    with pytest.raises(DatasetError, match="HDU 0 of data file .* holds no data"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, noise_map_path=tmp_path / "d.fits", data_hdu=0)


def test_imfit_data_based_noise_formula():
    data = np.array([[10.0, -200.0]])
    sigma = imfit_noise_map(data, gain=4.725, read_noise=4.3, original_sky=130.14)
    expected = np.sqrt((10.0 + 130.14) / 4.725 + (4.3 / 4.725) ** 2)
    assert sigma[0, 0] == pytest.approx(expected, rel=1e-15)
    # data + sky < 0 is clipped to 0, leaving the read noise.
    assert sigma[0, 1] == pytest.approx(4.3 / 4.725, rel=1e-15)
    # Count-rate images: effective gain = gain * t * N and N read-outs (Imfit's GenerateErrorVector).
    rate = imfit_noise_map(np.array([[2.0]]), gain=4.725, read_noise=4.3, original_sky=2.86, exposure_time=53.9, n_combined=2)
    g = 4.725 * 53.9 * 2
    assert rate[0, 0] == pytest.approx(np.sqrt((2.0 + 2.86) / g + 2 * (4.3 / g) ** 2), rel=1e-15)
    np.testing.assert_allclose(noise_map_from_variance([[4.0, 9.0]]), [[2.0, 3.0]])


def test_psf_is_normalised_by_default():
    psf = np.ones((3, 5))
    imaging = Imaging(np.zeros((4, 4)), np.ones((4, 4)), psf, 0.1)
    assert imaging.psf.sum() == pytest.approx(1.0)
    raw = Imaging(np.zeros((4, 4)), np.ones((4, 4)), psf, 0.1, normalize_psf=False)
    assert raw.psf.sum() == pytest.approx(15.0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(noise_map=np.ones((4, 5))), "noise_map shape"),
        (dict(psf=np.ones((4, 3))), "odd"),
        (dict(psf=np.zeros((3, 3))), "all zero"),
        (dict(psf=np.full((3, 3), np.nan)), "non-finite"),
        (dict(psf=-np.ones((3, 3))), "sums to -9 < 0"),
        (dict(mask=np.ones((4, 4), bool)), "no pixels"),
        (dict(mask=np.zeros((3, 4), bool)), "mask shape"),
        (dict(pixel_scales=-0.1), "pixel_scales"),
    ],
)
def test_bad_input_raises_a_specific_error(kwargs, message):
    args = dict(data=np.zeros((4, 4)), noise_map=np.ones((4, 4)), psf=None, pixel_scales=0.1)
    args.update(kwargs)
    with pytest.raises(DatasetError, match=message):
        Imaging(**args)


def test_psf_negative_values_warn_only_when_large(tmp_path):
    from galaxyfit.errors import NegativePSFWarning

    args = dict(data=np.zeros((4, 4)), noise_map=np.ones((4, 4)), pixel_scales=0.1)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[-25:26, -25:26]
    star = np.exp(-(x**2 + y**2) / (2 * 2.0**2))
    noisy = star + 1.5e-3 * rng.standard_normal(star.shape)  # an empirical 51x51 PSF: ~6 % negative from wing noise
    assert 0.04 < -noisy[noisy < 0].sum() / noisy[noisy > 0].sum() < 0.2 and noisy.min() > -0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = Imaging(psf=noisy, **args)
    np.testing.assert_allclose(quiet.psf, noisy / noisy.sum())
    oversubtracted = star - 0.003  # a background taken off twice: every wing pixel negative, the sum 23 % negative
    with pytest.warns(NegativePSFWarning, match=r"psf: its 2\d+ negative values sum to 2\d\.\d% of its positive ones") as record:
        loud = Imaging(psf=oversubtracted, **args)
    assert record[0].filename == __file__  # points at the caller's line, not inside galaxyfit
    np.testing.assert_allclose(loud.psf, oversubtracted / oversubtracted.sum())  # used as given
    dip = star.copy()
    dip[0, 0] = -0.05  # one value at -5 % of the peak: a residual image, not noise
    with pytest.warns(NegativePSFWarning, match=r"reach -5.00% of its peak"):
        Imaging(psf=dip, **args)
    # Read from a file: said once, naming the file, and not again when the dataset is masked.
    fits.PrimaryHDU(np.ones((4, 4))).writeto(tmp_path / "d.fits")
    fits.PrimaryHDU(oversubtracted).writeto(tmp_path / "psf.fits")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = Imaging.from_fits(tmp_path / "d.fits", 0.1, gain=1.0, psf_path=tmp_path / "psf.fits")
        dataset.apply_mask(Mask.circular(dataset.shape, 0.1, 0.15))
    negative = [w for w in caught if issubclass(w.category, NegativePSFWarning)]
    assert len(negative) == 1 and str(negative[0].message).endswith(f"[psf file {tmp_path / 'psf.fits'}]")
    assert negative[0].filename == __file__


def test_nan_data_and_bad_noise_in_used_pixels():
    data = np.zeros((5, 5))
    data[1, 2] = np.nan
    with pytest.raises(DatasetError, match=r"data has 1 non-finite values in unmasked pixels \(first at row 1, column 2\)"):
        Imaging(data, np.ones((5, 5)), pixel_scales=0.1)
    # Masked NaNs are fine.
    mask = np.zeros((5, 5), bool)
    mask[1, 2] = True
    assert Imaging(data, np.ones((5, 5)), pixel_scales=0.1, mask=mask).pixels_in_mask == 24
    # Or mask them automatically, with a warning that counts them.
    with pytest.warns(UserWarning, match="masked 1 pixels"):
        auto = Imaging(data, np.ones((5, 5)), pixel_scales=0.1, mask_nan_data=True)
    assert auto.mask.array[1, 2] and auto.pixels_in_mask == 24
    noise = np.ones((5, 5))
    noise[3, 3] = 0.0
    with pytest.raises(DatasetError, match="noise_map has 1 non-positive"):
        Imaging(np.zeros((5, 5)), noise, pixel_scales=0.1)
    noise[3, 3] = np.nan
    with pytest.raises(DatasetError, match="noise_map"):
        Imaging(np.zeros((5, 5)), noise, pixel_scales=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Imaging(np.zeros((5, 5)), np.ones((5, 5)), pixel_scales=0.1, mask_nan_data=True)  # nothing to mask, no warning


def test_missing_and_malformed_files_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="data file .*nope.fits does not exist"):
        Imaging.from_fits(tmp_path / "nope.fits", 0.1, gain=1.0)
    (tmp_path / "junk.fits").write_text("not fits")
    with pytest.raises(DatasetError, match="junk.fits"):
        Imaging.from_fits(tmp_path / "junk.fits", 0.1, gain=1.0)
    fits.PrimaryHDU(np.zeros((3, 3))).writeto(tmp_path / "d.fits")
    with pytest.raises(DatasetError, match="no noise"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1)
    with pytest.raises(DatasetError, match="no HDU 3"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, gain=1.0, data_hdu=3)


def test_apply_mask_keeps_the_arrays():
    imaging = Imaging(np.arange(16.0).reshape(4, 4), np.ones((4, 4)), np.ones((3, 3)), 0.1)
    masked = imaging.apply_mask(Mask.circular((4, 4), 0.1, 0.1))
    assert masked.pixels_in_mask == 4
    np.testing.assert_array_equal(masked.data, imaging.data)
    np.testing.assert_allclose(masked.psf, imaging.psf)
    combined = masked.apply_mask(masked.mask | Mask(np.eye(4, dtype=bool), 0.1))
    assert combined.pixels_in_mask == 2


def test_array_errors_from_files_name_the_file(tmp_path):
    fits.PrimaryHDU(np.ones((6, 6))).writeto(tmp_path / "d.fits")
    noise = np.ones((6, 6))
    noise[2, 3] = np.nan
    fits.PrimaryHDU(noise).writeto(tmp_path / "n.fits")
    with pytest.raises(DatasetError, match=r"noise_map has 1 non-positive or non-finite .*: nan\) \[noise map file .*n.fits\]"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, noise_map_path=tmp_path / "n.fits")
    fits.PrimaryHDU(np.ones((4, 4))).writeto(tmp_path / "even_psf.fits")
    with pytest.raises(DatasetError, match=r"psf shape \(4, 4\) must be odd.*\[psf file .*even_psf.fits\]"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, gain=1.0, psf_path=tmp_path / "even_psf.fits")
    with pytest.raises(DatasetError, match="data file .* is a directory"):
        Imaging.from_fits(tmp_path, 0.1, gain=1.0)


def test_written_files_get_ordinary_permissions(tmp_path):
    import os

    from galaxyfit.output import write_json_atomic

    write_json_atomic(tmp_path / "r.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_infinite_noise_is_rejected_like_nan():
    noise = np.ones((5, 5))
    noise[1, 1] = np.inf
    with pytest.raises(DatasetError, match=r"noise_map has 1 non-positive or non-finite values .*: inf\)"):
        Imaging(np.zeros((5, 5)), noise, pixel_scales=0.1)


def test_noise_and_file_errors_say_what_is_wrong(tmp_path):
    data = np.ones((6, 6))
    fits.PrimaryHDU(data).writeto(tmp_path / "d.fits")
    variance = np.ones((6, 6))
    variance[4, 1] = -2.5
    fits.PrimaryHDU(variance).writeto(tmp_path / "var.fits")
    with pytest.raises(DatasetError, match=r"variance map file .*var.fits has 1 negative values .*row 4, column 1: -2.5\)"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, noise_map_path=tmp_path / "var.fits", noise_map_is_variance=True)
    mask = np.zeros((6, 6))
    mask[4, 1] = 1
    fits.PrimaryHDU(mask).writeto(tmp_path / "m.fits")  # a negative variance in a masked pixel is not used
    Imaging.from_fits(tmp_path / "d.fits", 0.1, noise_map_path=tmp_path / "var.fits", noise_map_is_variance=True, mask_path=tmp_path / "m.fits")
    with pytest.raises(DatasetError, match="noise_map_is_variance=True needs noise_map_path"):
        Imaging.from_fits(tmp_path / "d.fits", 0.1, gain=1.0, noise_map_is_variance=True)
    fits.PrimaryHDU(data - 5.0).writeto(tmp_path / "sky_subtracted.fits")  # data + sky <= 0 everywhere
    with pytest.raises(DatasetError, match="if the sky was subtracted .* give its level as original_sky"):
        Imaging.from_fits(tmp_path / "sky_subtracted.fits", 0.1, gain=4.0)
    (tmp_path / "notes.fits").write_text("plain text, not FITS")
    with pytest.raises(DatasetError, match="notes.fits is not a readable FITS file: it does not start with a FITS header$"):
        Imaging.from_fits(tmp_path / "notes.fits", 0.1, gain=1.0)
