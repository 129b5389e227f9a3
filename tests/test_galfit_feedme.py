"""GALFIT input files: parsing (control lines, components, fit flags, constraints, image section), the model and
its start vector, the orientation and flux conventions against an independent float64 implementation, writing the
best fit back, and explicit refusals of what galaxyfit does not have. No GALFIT binary exists here: the files are
hand-written from GALFIT's documented format."""

import math

import numpy as np
import pytest
import scipy.special

from galaxyfit.errors import ModelError
from galaxyfit.galfit_feedme import read_galfit_feedme, write_galfit_feedme
from galaxyfit.model import GaussianPrior
from galaxyfit.profiles.parameterised import GalfitDevVaucouleurs, GalfitExponential, GalfitGaussian, GalfitMoffat, GalfitSersic

FEEDME = """===============================================================================
# IMAGE and GALFIT CONTROL PARAMETERS
A) gal.fits            # Input data image (FITS file)
B) imgblock.fits       # Output data image block
C) none                # Sigma image name
D) psf.fits            # Input PSF image
E) 1                   # PSF fine sampling factor relative to data
F) mask.fits           # Bad pixel mask
G) cons.txt            # File with parameter constraints (ASCII file)
H) 11   70   21   60   # Image region to fit (xmin xmax ymin ymax)
I) 40     40           # Size of the convolution box (x y)
J) 26.5                # Magnitude photometric zeropoint
K) 0.05  0.05          # Plate scale (dx dy)    [arcsec per pixel]
O) regular             # Display type (regular, curses, both)
P) 0                   # Choose: 0=optimize, 1=model, 2=imgblock, 3=subcomps

# Object number: 1
 0) sersic                 #  object type
 1) 40.5  41.0  1 1        #  position x, y
 3) 18.00      1           #  Integrated magnitude
 4) 6.30       1           #  R_e (half-light radius)   [pix]
 5) 2.20       1           #  Sersic index n
 6) 0.0000      0          #     -----
 7) 0.0000      0          #     -----
 8) 0.0000      0          #     -----
 9) 0.60       1           #  axis ratio (b/a)
10) 30.0       1           #  position angle (PA) [deg: Up=0, Left=90]
 Z) 0                      #  output option (0 = resid., 1 = Don't subtract)

# Object number: 2
 0) expdisk
 1) 40.5  41.0  1 1
 3) 17.5       1
 4) 10.0       1
 9) 0.4        1
10) 35.0       0
 Z) 0

# Object number: 3
 0) moffat
 1) 20.0  30.0  0 0
 3) 21.0       1
 4) 3.0        1
 5) 2.5        1
 9) 0.9        0
10) 0.0        1
 Z) 1

# Object number: 4
 0) sky
 1) 1.3920      1
 2) 0.0000      0
 3) 0.0000      0
 Z) 0
"""

CONSTRAINTS = """# Component/    parameter   constraint	Comment
    1              n        0.5 to 8
    1_2            x        offset
    1_2            y        offset
    2              x        -1  1
    1              q        0.2 to 1
    1              re       2 to 30
    3              mag      -2 2
"""
PS = 0.05


@pytest.fixture
def feedme_path(tmp_path):
    (tmp_path / "cons.txt").write_text(CONSTRAINTS)
    path = tmp_path / "galfit.feedme"
    path.write_text(FEEDME)
    return path


def test_control_lines_components_and_section(feedme_path):
    f = read_galfit_feedme(feedme_path)
    assert (f.input_image, f.output_image, f.sigma_image, f.psf, f.mask, f.constraints_file) == (
        "gal.fits", "imgblock.fits", None, "psf.fits", "mask.fits", "cons.txt")
    assert (f.psf_sampling, f.region, f.convolution_box, f.zero_point, f.plate_scale, f.display, f.mode) == (
        1, (11, 70, 21, 60), (40, 40), 26.5, (0.05, 0.05), "regular", 0)
    assert [c.name for c in f.components] == ["sersic_1", "expdisk_2", "moffat_3", "sky_4"]
    assert f.components[2].skip_in_output and not f.components[0].skip_in_output
    image = np.arange(100 * 90).reshape(100, 90)  # (N_y, N_x); row 0 = FITS row 1 = y 1
    cropped = image[f.section]
    assert cropped.shape == f.fitted_shape((100, 90)) == (40, 60)
    assert cropped[0, 0] == image[20, 10]  # pixel (x, y) = (11, 21), 1-based
    assert [(c.components, c.parameter, c.kind) for c in f.constraints][:3] == [((1,), "5", "range"), ((1, 2), "x", "offset"), ((1, 2), "y", "offset")]


def test_model_honours_flags_constraints_and_shared_centre(feedme_path):
    f = read_galfit_feedme(feedme_path)
    model, start = f.model(image_shape=(100, 90), exposure_time=2.0)
    s, d, m = (getattr(model.galaxies.galaxy, n) for n in ("sersic_1", "expdisk_2", "moffat_3"))
    # the region's centre is pixel ((11 + 70)/2, (21 + 60)/2) = (40.5, 40.5); x 40.5 -> 0", y 41 -> 0.5 px
    assert d.centre[0] is s.centre[0] and d.centre[1] is s.centre[1]  # 1_2 x/y offset: one shared position
    assert isinstance(s.centre[0], GaussianPrior) and s.centre[0].mean == pytest.approx(0.5 * PS)
    assert s.centre[1].limits == pytest.approx((-PS, PS))  # "2 x -1 1" about the input 40.5, on the shared x
    assert s.sersic_index.limits == (0.5, 8.0) and s.axis_ratio.limits == (0.2, 1.0)
    assert s.effective_radius_major.limits == pytest.approx((2 * PS, 30 * PS))
    assert s.magnitude.limits == (3.0, 33.0)  # no constraint: m +- 15 (galaxyfit's 1e-6 .. 1e6 in flux)
    assert d.position_angle == 35.0  # flag 0
    assert m.centre == pytest.approx(((30 - 40.5) * PS, (20 - 40.5) * PS)) and m.axis_ratio == 0.9
    assert m.magnitude.limits == (19.0, 23.0)  # "3 mag -2 2": relative to the input 21
    zero_point = 26.5 + 2.5 * math.log10(2.0)
    assert s.magnitude_zero_point == zero_point and s.pixel_scale == PS
    assert isinstance(model.dataset_model.background_sky_level, GaussianPrior)
    instance = model.instance_from_vector(start)
    assert instance.dataset_model.background_sky_level == 1.392
    # magnitudes: the standard profile's analytic total flux is 10^(-0.4 (m - J)) t_exp
    for name, magnitude in (("sersic_1", 18.0), ("expdisk_2", 17.5), ("moffat_3", 21.0)):
        profile = getattr(instance.galaxies.galaxy, name)
        flux = float(profile.standard().total_flux(PS))
        assert flux == pytest.approx(10 ** (-0.4 * (magnitude - 26.5)) * 2.0, rel=1e-12), name


def _galfit_sersic(x, y, x0, y0, magnitude, zero_point, r_e, n, q, pa):
    """GALFIT's Sersic (Peng et al. 2010, eqs. 4, 5 and the flux integral) in float64, pixels: x, y 1-based
    positions, PA counter-clockwise from +y ("Up = 0, Left = 90"), exact b_n (Gamma(2n) = 2 gamma(2n, b_n))."""
    kappa = scipy.special.gammaincinv(2 * n, 0.5)
    flux = 10 ** (-0.4 * (magnitude - zero_point))
    sigma_e = flux / (2 * np.pi * r_e**2 * np.exp(kappa) * n * kappa ** (-2 * n) * scipy.special.gamma(2 * n) * q)
    t = np.radians(pa)
    dx, dy = x - x0, y - y0
    along = -dx * np.sin(t) + dy * np.cos(t)  # along the major axis, unit vector (-sin PA, cos PA)
    across = dx * np.cos(t) + dy * np.sin(t)
    r = np.hypot(along, across / q)
    return sigma_e * np.exp(-kappa * ((r / r_e) ** (1 / n) - 1))


def test_sersic_image_matches_an_independent_galfit_sersic(feedme_path):
    f = read_galfit_feedme(feedme_path)
    model, start = f.model(image_shape=(100, 90))
    sersic = model.instance_from_vector(start).galaxies.galaxy.sersic_1
    ny, nx = f.fitted_shape()
    xmin, _, ymin, _ = f.region
    rows, cols = np.mgrid[0:ny, 0:nx]
    y_pix, x_pix = ymin + rows, xmin + cols  # the section's pixels in the input image's 1-based positions
    ours = np.asarray(sersic.brightness_at((rows - (ny - 1) / 2) * PS, (cols - (nx - 1) / 2) * PS))
    theirs = _galfit_sersic(x_pix, y_pix, 40.5, 41.0, 18.0, 26.5, 6.3, 2.2, 0.6, 30.0)
    far = np.hypot(x_pix - 40.5, y_pix - 41.0) > 0.5
    # b_n: galaxyfit's is Ciotti & Bertin's expansion, exact to ~1e-6 here (light.sersic_constant)
    np.testing.assert_allclose(ours[far], theirs[far], rtol=2e-5)


@pytest.mark.parametrize("pa,longer,shorter", [
    (0.0, (0, 8), (8, 0)),  # Up = 0: elongated along +-y
    (90.0, (8, 0), (0, 8)),  # along x
    (45.0, (-6, 6), (6, 6)),  # Left = 90, so 45 points up and to the left (towards -x)
])
def test_position_angle_orientation_on_an_elongated_image(tmp_path, pa, longer, shorter):
    path = tmp_path / "one.feedme"
    path.write_text(FEEDME.split("# Object number: 1")[0].replace("G) cons.txt", "G) none").replace("H) 11   70   21   60", "H) 1 41 1 41")
                    + f"0) gaussian\n1) 21 21 1 1\n3) 20 1\n4) 6 1\n9) 0.3 1\n10) {pa} 1\n")
    model, start = read_galfit_feedme(path).model()
    gaussian = model.instance_from_vector(start).galaxies.galaxy.gaussian_1
    image = np.asarray(gaussian.brightness_at(*np.mgrid[-20:21, -20:21] * PS))  # (41, 41), row = y, centre [20, 20]
    (lx, ly), (sx, sy) = longer, shorter
    assert image[20 + ly, 20 + lx] > 50 * image[20 + sy, 20 + sx]
    assert image[20 + ly, 20 + lx] == pytest.approx(image[20 - ly, 20 - lx], rel=1e-12)


def test_written_best_fit_reads_back_to_the_same_model(feedme_path, tmp_path):
    f = read_galfit_feedme(feedme_path)
    model, start = f.model(image_shape=(100, 90))
    best = np.array(start) + 1e-3 * np.linspace(-1, 1, len(start))  # inside every box
    instance = model.instance_from_vector(best)
    out = write_galfit_feedme(tmp_path / "galfit.01", f, instance, model=model, image_shape=(100, 90), output_image="next.fits")
    again = read_galfit_feedme(out)  # G) cons.txt, relative to the written file: the same folder
    assert again.output_image == "next.fits" and again.region == f.region and again.constraints_file == "cons.txt"
    assert [c.kind for c in again.components] == [c.kind for c in f.components] and again.components[2].skip_in_output
    for a, b in zip(f.components, again.components):
        flags = lambda c: [p.free for k, v in sorted(c.parameters.items()) for p in (v if isinstance(v, tuple) else (v,))]
        assert flags(a) == flags(b)
    model2, start2 = again.model(image_shape=(100, 90))
    assert model2.parameter_names == model.parameter_names
    np.testing.assert_allclose(start2, best, rtol=1e-10, atol=1e-13)
    assert [type(p) for p in model.priors] == [type(q) for q in model2.priors]
    # absolute ranges are kept; relative ones ("3 mag -2 2") apply about the new input value, as in GALFIT
    moffat_magnitude = instance.galaxies.galaxy.moffat_3.magnitude
    assert model2.galaxies.galaxy.moffat_3.magnitude.limits == pytest.approx((moffat_magnitude - 2, moffat_magnitude + 2), rel=1e-12)
    assert model2.galaxies.galaxy.sersic_1.sersic_index.limits == (0.5, 8.0)


@pytest.mark.parametrize("old,new,match", [
    ("0) moffat", "0) nuker", r"galfit.feedme:40: GALFIT component 'nuker' is not supported"),
    ("0) moffat", "0) ferrer", r"galfit.feedme:40: GALFIT component 'ferrer' is not supported"),
    ("0) moffat", "0) edgedisk", r"galfit.feedme:40: GALFIT component 'edgedisk' is not supported"),
    ("0) moffat", "0) psf", r"galfit.feedme:40: GALFIT component 'psf' is not supported"),
    ("10) 0.0        1\n Z) 1", "10) 0.0        1\nF1) 0.1 10 1 1\n Z) 1", r"galfit.feedme:47: F1\) .* not supported"),
    ("10) 0.0        1\n Z) 1", "10) 0.0        1\nR0) powerlaw\n Z) 1", r"galfit.feedme:47: R0\) .* not supported"),
    ("10) 0.0        1\n Z) 1", "10) 0.0        1\nC0) 0.1 1\n Z) 1", r"galfit.feedme:47: C0\) .* not supported"),
    (" 5) 2.5        1", " 5) 0.9        1", r"galfit.feedme:44: parameter 5\) of moffat = 0.9 is outside its domain"),
    (" 1) 20.0  30.0  0 0", " 1) 20.0  30.0  0", r"galfit.feedme:41: position needs"),
    (" 3) 21.0       1", " 3) 21.0       2", r"galfit.feedme:42: fit flag must be 1 \(free\) or 0 \(fixed\)"),
])
def test_refusals_name_file_and_line(feedme_path, old, new, match):
    text = FEEDME.replace(old, new, 1)
    assert text != FEEDME
    feedme_path.write_text(text)
    with pytest.raises(ModelError, match=match):
        read_galfit_feedme(feedme_path)


@pytest.mark.parametrize("line,match", [
    ("1_2 re ratio", r"cons.txt:9: .*only 'i_j x offset'"),
    ("3-2 mag -1 1", r"cons.txt:9: constraints between components"),
    ("1_2 mag offset", r"cons.txt:9: .*only 'i_j x offset'"),
    ("4 mag 1 to 2", r"cons.txt:9: component 4 \(sky\) has no parameter"),
    ("1 boxy 1 to 2", r"cons.txt:9: unknown constraint parameter 'boxy'"),
    ("7 n 1 to 2", r"cons.txt:9: no component 7"),
])
def test_constraint_refusals(feedme_path, line, match):
    (feedme_path.parent / "cons.txt").write_text(CONSTRAINTS + line + "\n")
    with pytest.raises(ModelError, match=match):
        read_galfit_feedme(feedme_path)


def test_model_refusals(feedme_path):
    (feedme_path.parent / "cons.txt").write_text(CONSTRAINTS + "1_3 x offset\n")
    with pytest.raises(ModelError, match=r"cons.txt:9: .*couples x values that differ"):
        read_galfit_feedme(feedme_path).model((100, 90))
    (feedme_path.parent / "cons.txt").write_text(CONSTRAINTS + "1 pa 50 to 60\n")
    with pytest.raises(ModelError, match=r"cons.txt:9: component 1 pa: the input value 30 \(line 27\) lies outside"):
        read_galfit_feedme(feedme_path).model((100, 90))
    (feedme_path.parent / "cons.txt").write_text(CONSTRAINTS)
    feedme_path.write_text(FEEDME.replace("E) 1 ", "E) 2 "))
    with pytest.raises(ModelError, match=r"galfit.feedme:7: PSF fine sampling factor E\) 2 needs the model convolved on the finer grid"):
        read_galfit_feedme(feedme_path).model((100, 90))
    feedme_path.write_text(FEEDME.replace("K) 0.05  0.05", "K) 0.05  0.06"))
    with pytest.raises(ModelError, match=r"galfit.feedme:13: .*only square pixels"):
        read_galfit_feedme(feedme_path).model((100, 90))
    feedme_path.write_text(FEEDME)
    with pytest.raises(ModelError, match=r"reaches beyond the input image"):
        read_galfit_feedme(feedme_path).model((50, 90))


def test_galfit_profiles_total_flux_is_the_magnitude():
    for profile in (GalfitSersic((0, 0), 10.0, 0.5, 19.0, 1.2, 3.3, 25.0, 0.1), GalfitExponential((0, 0), 10.0, 0.3, 19.0, 0.8, 25.0, 0.1),
                    GalfitMoffat((0, 0), 10.0, 0.7, 19.0, 0.5, 1.7, 25.0, 0.1), GalfitGaussian((0, 0), 10.0, 0.7, 19.0, 0.5, 25.0, 0.1),
                    GalfitDevVaucouleurs((0, 0), 10.0, 0.7, 19.0, 0.5, 25.0, 0.1)):
        assert float(profile.total_flux(0.1)) == pytest.approx(10 ** (-0.4 * (19.0 - 25.0)), rel=1e-12)


def test_sky_gradients_are_a_tilted_sky_about_the_region_centre(feedme_path, tmp_path):
    from galaxyfit.galaxy import DatasetModel

    feedme_path.write_text(FEEDME.replace(" 2) 0.0000      0", " 2) 0.0020      1").replace(" 3) 0.0000      0", " 3) -0.0010      0"))
    f = read_galfit_feedme(feedme_path)
    if not hasattr(DatasetModel(), "background_sky_slope_x"):
        with pytest.raises(ModelError, match=r"galfit.feedme:52: a sky gradient .* needs a tilted sky"):
            f.model((100, 90))
        return
    model, start = f.model((100, 90))
    sky = model.instance_from_vector(start).dataset_model
    assert model.dataset_model.background_sky_slope_y == pytest.approx(-0.001 / PS)  # fixed (flag 0)
    # GALFIT: sky0 + dsky/dx (x - x_c) + dsky/dy (y - y_c) about the region's centre (40.5, 40.5); our plane is about
    # the cropped image's centre, in arcsec
    ny, nx = f.fitted_shape()
    rows, cols = np.mgrid[0:ny, 0:nx]
    galfit = 1.392 + 0.002 * (11 + cols - 40.5) - 0.001 * (21 + rows - 40.5)
    ours = sky.background_sky_level + sky.background_sky_slope_y * (rows - (ny - 1) / 2) * PS + sky.background_sky_slope_x * (cols - (nx - 1) / 2) * PS
    np.testing.assert_allclose(ours, galfit, rtol=1e-13)
    out = write_galfit_feedme(tmp_path / "galfit.01", f, model.instance_from_vector(start), model=model)
    again = read_galfit_feedme(out).components[3].parameters
    assert (again[2].value, again[2].free, again[3].value, again[3].free) == (pytest.approx(0.002), True, pytest.approx(-0.001), False)


def test_command_line_helpers(feedme_path, tmp_path):
    from types import SimpleNamespace

    from galaxyfit.galfit_feedme import model_from_galfit_feedme, write_galfit_best_fit

    model, start, feedme = model_from_galfit_feedme(feedme_path, (100, 90), exposure_time=3.0)
    assert model.galaxies.galaxy.sersic_1.magnitude_zero_point == pytest.approx(26.5 + 2.5 * math.log10(3.0))
    # the dataset the command line fits: the section H, with K's pixel scale
    result = SimpleNamespace(analysis=SimpleNamespace(dataset=SimpleNamespace(shape=(40, 60), pixel_scales=(PS, PS))), model=model,
                             max_log_likelihood_instance=model.instance_from_vector(start))
    path = write_galfit_best_fit(feedme_path.parent / "galfit.01", feedme, result, output_image="out.fits")
    _, start2, again = model_from_galfit_feedme(path, (100, 90), exposure_time=3.0)
    assert again.output_image == "out.fits"
    np.testing.assert_allclose(start2, start, rtol=1e-12, atol=1e-14)
