"""GALFIT input ("feedme") files and constraint files, in and out.

Format: GALFIT's documentation and template file (Peng et al. 2002, AJ 124, 266; 2010, AJ 139, 2097). Control
lines ``A)`` .. ``P)``: A input image, B output block, C sigma image, D PSF, E PSF fine-sampling factor, F mask, G
constraints file, H fitting region ``xmin xmax ymin ymax`` (1-based, inclusive, in the input image), I convolution
box, J magnitude zero point, K plate scale ``dx dy`` (arcsec per pixel), O display type, P mode. Then components
``0) kind`` with parameter lines ``N) value(s) flag(s)`` (flag 1 = free, 0 = fixed) and ``Z)`` (1 = leave the
component out of the residual image; it is still fitted).

Supported components and parameters (all others are refused, naming file and line): ``sersic`` (1 x y, 3 mag, 4 R_e,
5 n, 9 q, 10 PA), ``devauc`` (1, 3, 4 R_e, 9, 10), ``expdisk`` (1, 3, 4 R_s, 9, 10), ``gaussian`` (1, 3, 4 FWHM, 9,
10), ``moffat`` (1, 3, 4 FWHM, 5 powerlaw, 9, 10) and ``sky`` (1 level at the region's centre; 2, 3 gradients
dsky/dx, dsky/dy per pixel, mapped to DatasetModel's tilted sky ``background_sky_slope_x/_y = gradient / dx`` per
arcsec about the image centre where DatasetModel has it, else refused unless 0 and fixed).
Lines 6-8 of the profile components are GALFIT's unused slots and are ignored. Boxiness ``C0)`` is accepted only at
0 and fixed (a pure ellipse); bending (``B``), Fourier (``F``) and truncation (``R``/``T``) modes are refused.

Conventions, mapped onto the GALFIT-parameterised classes of profiles/parameterised.py (``GalfitSersic`` ...): pixel
positions are 1-based with integer pixel centres in the *input* image, so in the fitted region (H) the centre in
arcsec is ``x = (x_pix - (xmin + xmax)/2) dx``, ``y = (y_pix - (ymin + ymax)/2) dy``; sizes are major-axis pixels
(``x dx`` to arcsec); ``q = b/a``; PA in degrees, "Up = 0, Left = 90", i.e. counter-clockwise from +y in the
FITS/DS9 orientation (DESIGN.md), as Imfit's; magnitudes are integrated, ``m = -2.5 log10(F / t_exp) + J``.

Constraint files (G): ``i par lo to hi`` (an absolute range), ``i par a b`` (a range relative to the input value:
``value + a .. value + b``) and ``i_j_.. x offset`` / ``i_j_.. y offset`` (a coordinate shared by the components,
whose input values must then be equal) are supported, with ``par`` one of x, y, mag, re, rs, fwhm, n, q, pa or a
parameter number (3 .. 10); other forms (ratios, ``i-j`` / ``i/j`` differences, ``offset`` of other parameters) are
refused naming file and line.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from galaxyfit.errors import ModelError
from galaxyfit.galaxy import DatasetModel, Galaxy
from galaxyfit.model.priors import GaussianPrior, UniformPrior
from galaxyfit.profiles import parameterised
from galaxyfit.profiles.light import SERSIC_INDEX_MIN
from galaxyfit.imfit_config import text_lines


#: GALFIT kind -> (class, {parameter number: (field, unit kind)}); position (1) is handled apart.
_KINDS = {
    "sersic": (parameterised.GalfitSersic, {3: ("magnitude", "mag"), 4: ("effective_radius_major", "size"), 5: ("sersic_index", "n"),
                                            9: ("axis_ratio", "q"), 10: ("position_angle", "angle")}),
    "devauc": (parameterised.GalfitDevVaucouleurs, {3: ("magnitude", "mag"), 4: ("effective_radius_major", "size"),
                                                    9: ("axis_ratio", "q"), 10: ("position_angle", "angle")}),
    "expdisk": (parameterised.GalfitExponential, {3: ("magnitude", "mag"), 4: ("scale_length", "size"), 9: ("axis_ratio", "q"),
                                                  10: ("position_angle", "angle")}),
    "gaussian": (parameterised.GalfitGaussian, {3: ("magnitude", "mag"), 4: ("fwhm_major", "size"), 9: ("axis_ratio", "q"),
                                                10: ("position_angle", "angle")}),
    "moffat": (parameterised.GalfitMoffat, {3: ("magnitude", "mag"), 4: ("fwhm_major", "size"), 5: ("beta", "beta"),
                                            9: ("axis_ratio", "q"), 10: ("position_angle", "angle")}),
}
_KIND_OF_CLASS = {cls: kind for kind, (cls, _) in _KINDS.items()}
_REFUSED_KINDS = ("nuker", "ferrer", "king", "psf", "edgedisk", "sersic2", "corsic", "gaussian2", "moffat2", "devauc2")
_COMMENTS = {1: "position x, y  [pixel]", 3: "integrated magnitude", 4: "size [pixel] (R_e, R_s or FWHM)", 5: "Sersic index n / powerlaw",
             9: "axis ratio (b/a)", 10: "position angle (PA) [deg: Up=0, Left=90]"}
#: Constraint-file parameter names -> parameter number (x and y are position 1's two coordinates).
_CONSTRAINT_NAMES = {"mag": 3, "re": 4, "rs": 4, "fwhm": 4, "n": 5, "pow": 5, "beta": 5, "q": 9, "ar": 9, "pa": 10}
_CONTROL_KEYS = "ABCDEFGHIJKOP"


@dataclass
class GalfitParameter:
    value: float
    free: bool
    line: int | None = None


@dataclass
class GalfitComponent:
    """One ``0) kind`` block: ``parameters`` by GALFIT number; position 1 is ``x`` and ``y``."""

    kind: str
    number: int
    parameters: dict = field(default_factory=dict)
    skip_in_output: bool = False
    line: int | None = None

    @property
    def name(self) -> str:
        """The component's name in models: ``<kind>_<object number>`` (``sky`` is the dataset model)."""
        return f"{self.kind}_{self.number}"


@dataclass
class GalfitConstraint:
    components: tuple
    parameter: str  # "x", "y" or a parameter number as text
    kind: str  # "range", "relative" or "offset"
    low: float = math.nan
    high: float = math.nan
    line: int | None = None
    #: The constraints file (errors name it with the line).
    source: str | None = None
    #: The parameter as the file names it (``pa``, ``re`` ...).
    label: str = ""

    def where(self) -> str:
        return f"{self.source or 'GALFIT constraints file'}:{self.line}"


@dataclass
class GalfitFeedme:
    """A parsed GALFIT input file. ``control`` holds each control line's text (``"A"`` -> ``"gal.fits"``) for
    writing back; the typed fields below are read from it."""

    path: str | None
    control: dict
    components: list
    constraints: list = field(default_factory=list)
    input_image: str | None = None
    output_image: str | None = None
    sigma_image: str | None = None
    psf: str | None = None
    psf_sampling: int = 1
    mask: str | None = None
    constraints_file: str | None = None
    #: H: (xmin, xmax, ymin, ymax), 1-based inclusive pixels of the input image; None: the whole image.
    region: tuple | None = None
    convolution_box: tuple | None = None
    zero_point: float | None = None
    #: K: (dx, dy) arcsec per pixel.
    plate_scale: tuple | None = None
    display: str | None = None
    mode: int | None = None

    def _where(self, line) -> str:
        return f"{self.path or 'GALFIT file'}:{line}" if line is not None else (self.path or "GALFIT file")

    @property
    def section(self):
        """(rows, cols): 0-based slices of the input image array (row 0 = FITS row 1 = y 1) that H selects, None
        without H. ``data[feedme.section]`` is the fitted region."""
        if self.region is None:
            return None
        xmin, xmax, ymin, ymax = self.region
        return slice(ymin - 1, ymax), slice(xmin - 1, xmax)

    def fitted_shape(self, image_shape=None) -> tuple:
        """(N_y, N_x) of the fitted region: H's, or ``image_shape`` (the input image's) without H. Raises ModelError
        when neither is known, or when H does not lie inside ``image_shape``."""
        if self.region is None:
            if image_shape is None:
                raise ModelError(f"{self._where(None)}: no image region (H); give the input image's shape")
            return tuple(int(n) for n in image_shape)
        xmin, xmax, ymin, ymax = self.region
        if image_shape is not None and (xmax > image_shape[1] or ymax > image_shape[0]):
            raise ModelError(f"{self._where(self.control.get('H', (None, None))[1])}: image region H) {xmin} {xmax} {ymin} {ymax} "
                             f"reaches beyond the input image of {image_shape[1]} x {image_shape[0]} pixels")
        return ymax - ymin + 1, xmax - xmin + 1

    @property
    def pixel_scale(self) -> float | None:
        """K's (square) pixel scale, arcsec per pixel; None without K."""
        return None if self.plate_scale is None else self.plate_scale[0]

    def _pixel_scale(self, pixel_scales) -> float:
        if pixel_scales is None:
            if self.plate_scale is None:
                raise ModelError(f"{self._where(None)}: no plate scale (K); give pixel_scales")
            return self.plate_scale[0]
        from galaxyfit.profiles.convert import _square_pixel

        return _square_pixel(pixel_scales)

    def _origin(self, shape) -> tuple:
        """(x, y) pixel position, 1-based in the input image, of the fitted region's centre."""
        if self.region is None:
            return (shape[1] + 1) / 2.0, (shape[0] + 1) / 2.0
        xmin, xmax, ymin, ymax = self.region
        return (xmin + xmax) / 2.0, (ymin + ymax) / 2.0

    def model(self, image_shape=None, pixel_scales=None, exposure_time: float = 1.0, redshift: float | None = None,
              psf_sampling_handled: bool = False):
        """(model, start vector) of this file: one ``Galaxy`` model ``galaxy`` whose components are the file's
        profile components as the GALFIT-parameterised classes, named ``<kind>_<object number>`` (``sersic_1``,
        ``expdisk_2`` ...), a ``sky`` as ``dataset_model.background_sky_level``; the start vector holds the file's
        values.

        Parameters
        ----------
        image_shape : (N_y, N_x), optional
            The input image's shape; needed without H (and used to check H).
        pixel_scales : float, optional
            Arcsec per pixel; K's by default (square pixels only).
        exposure_time : float
            GALFIT's ``t_exp`` in ``m = -2.5 log10(F / t_exp) + J`` (the input image's EXPTIME header keyword, as
            GALFIT reads it; 1 by default).
        redshift : float
        psf_sampling_handled : bool
            True when the caller convolves with a PSF sampled ``psf_sampling`` (E) times finer than the data; the
            model itself does not depend on it. By default a factor other than 1 is refused.

        Fixed flags (0) fix; constraint ranges are ``UniformPrior`` boxes in the file's units (converted linearly:
        pixels to arcsec); ``x``/``y`` offset couplings share one prior. Free parameters without a constraint get
        these priors (galaxyfit's defaults moved or widened to hold the value): centre ``GaussianPrior(value,
        0.3")``; magnitude ``UniformPrior(m - 15, m + 15)`` (galaxyfit's log-uniform intensity over 1e-6 .. 1e6,
        which spans 30 magnitudes, centred on the value); sizes ``UniformPrior(0, max(30", 10 v))``; n
        ``UniformPrior(max(0.15, min(0.8, v/2)), max(5, 2 v))``; beta ``UniformPrior(1, max(5, 2 v))``; q
        ``UniformPrior(0, max(1, q))``; PA ``UniformPrior(v - 90, v + 90)``; sky ``GaussianPrior(v, max(1, |v|))``;
        sky gradients (per arcsec) ``GaussianPrior(g, max(|g|, 1 / (max(N) dx)))``.

        Raises ModelError (naming file and line) for a PSF fine-sampling factor other than 1, non-square pixels,
        a magnitude without a zero point J, a constraint whose range excludes the input value, and an offset
        coupling of coordinates that differ in the file.
        """
        from galaxyfit.model import Collection, Model, ModelInstance

        if self.psf_sampling != 1 and not psf_sampling_handled:
            raise ModelError(f"{self._where(self.control.get('E', (None, None))[1])}: PSF fine sampling factor E) {self.psf_sampling} "
                             "needs the model convolved on the finer grid: galaxyfit fit --galfit-feedme does that (the PSF D as "
                             "--psf-oversampled); in Python give the dataset psf_oversampled and pass psf_sampling_handled=True")
        if not (isinstance(exposure_time, (int, float)) and exposure_time > 0 and math.isfinite(exposure_time)):
            raise ModelError(f"exposure_time must be a positive number (s), got {exposure_time!r}")
        if self.plate_scale is not None and not math.isclose(self.plate_scale[0], self.plate_scale[1], rel_tol=1e-12):
            raise ModelError(f"{self._where(self.control['K'][1])}: plate scale K) {self.plate_scale[0]} {self.plate_scale[1]}: "
                             "only square pixels are supported")
        ps = self._pixel_scale(pixel_scales)
        shape = self.fitted_shape(image_shape)
        x_origin, y_origin = self._origin(shape)
        constraints = self._constraints_by_target()
        shared = self._shared_coordinates()
        priors_of_coordinate = {}
        components, profiles, sky = {}, {}, None
        for component in self.components:
            if component.kind == "sky":
                sky = {"background_sky_level": (self._prior(component, 1, "sky", component.parameters[1], 1.0, 0.0, constraints),
                                                 component.parameters[1].value)}
                # GALFIT's dsky/dx, dsky/dy (per pixel, about the region's centre) -> DatasetModel's tilted plane (per
                # arcsec, about the image centre, which is the region's centre once cropped)
                extent = max(shape) * ps
                for number, name in ((2, "background_sky_slope_x"), (3, "background_sky_slope_y")):
                    gradient = component.parameters.get(number)
                    if gradient is None or (not gradient.free and gradient.value == 0.0):
                        continue
                    if name not in _dataset_model_fields():
                        raise ModelError(f"{self._where(gradient.line)}: a sky gradient (parameter {number}) needs a tilted sky, which "
                                         "this galaxyfit's DatasetModel lacks; fix it at 0 (flag 0)")
                    value = gradient.value / ps
                    sky[name] = (GaussianPrior(value, max(abs(value), 1.0 / extent)) if gradient.free else value, value)
                continue
            cls, spec = _KINDS[component.kind]
            if self.zero_point is None:
                raise ModelError(f"{self._where(component.line)}: {component.kind} has a magnitude but the file gives no zero point J)")
            x, y = component.parameters[1]
            centre_priors = []
            for coordinate, parameter, origin in (("y", y, y_origin), ("x", x, x_origin)):
                key = shared.get((component.number, coordinate))
                if key is not None and key in priors_of_coordinate:
                    centre_priors.append(priors_of_coordinate[key])
                    continue
                owner = component
                if key is not None and (component.number, coordinate) not in constraints:
                    # a range given for another component of the coupled group applies to the shared coordinate
                    members = [number for (number, c), k in shared.items() if k == key and (number, coordinate) in constraints]
                    owner = next((c for c in self.components if members and c.number == members[0]), component)
                prior = self._prior(owner, coordinate, coordinate, parameter, ps, origin, constraints)
                if key is not None:
                    priors_of_coordinate[key] = prior
                centre_priors.append(prior)
            priors = {"centre": tuple(centre_priors)}
            values = {"centre": ((y.value - y_origin) * ps, (x.value - x_origin) * ps)}
            for number, (field_name, unit) in spec.items():
                parameter = component.parameters[number]
                priors[field_name] = self._prior(component, number, unit, parameter, ps, 0.0, constraints)
                values[field_name] = _to_field(unit, parameter.value, ps, 0.0)
            constants = {"magnitude_zero_point": self.zero_point + 2.5 * math.log10(exposure_time), "pixel_scale": ps}
            components[component.name] = Model(cls, **priors, **constants)
            profiles[component.name] = cls(**values, **constants)
        parts = {"galaxies": Collection(galaxy=Model(Galaxy, redshift=redshift, **components))} if components else {"galaxies": Collection()}
        instance = {"galaxies": ModelInstance(galaxy=Galaxy(redshift, **profiles))} if components else {"galaxies": ModelInstance()}
        if sky is not None:
            # other DatasetModel fields (none in GALFIT) stay fixed at their defaults
            others = {f.name: f.default for f in dataclasses.fields(DatasetModel) if f.name not in sky}
            parts["dataset_model"] = Model(DatasetModel, **{k: v[0] for k, v in sky.items()}, **others)
            instance["dataset_model"] = DatasetModel(**{k: v[1] for k, v in sky.items()})
        model = Collection(**parts)
        return model, model.vector_from_instance(ModelInstance(**instance))

    def _constraints_by_target(self) -> dict:
        out = {}
        for constraint in self.constraints:
            if constraint.kind in ("range", "relative"):
                out[(constraint.components[0], constraint.parameter)] = constraint
        return out

    def _shared_coordinates(self) -> dict:
        """{(component number, "x" | "y"): group key} of the offset couplings, checking the coordinates agree."""
        by_number = {c.number: c for c in self.components}
        shared = {}
        for constraint in self.constraints:
            if constraint.kind != "offset":
                continue
            index = 0 if constraint.parameter == "x" else 1
            values = []
            for number in constraint.components:
                component = by_number.get(number)
                if component is None or component.kind == "sky":
                    raise ModelError(f"{constraint.where()}: constraint names component {number}, which has no position")
                values.append(component.parameters[1][index].value)
            if any(v != values[0] for v in values):
                raise ModelError(f"{constraint.where()}: '{'_'.join(map(str, constraint.components))} {constraint.parameter} offset' "
                                 f"couples {constraint.parameter} values that differ ({', '.join(map(str, values))}); only a shared "
                                 "coordinate (equal input values) is supported")
            key = ("offset", constraint.parameter, constraint.line)
            for number in constraint.components:
                previous = shared.get((number, constraint.parameter))
                if previous is not None:  # a component in two groups: merge them
                    for k, v in list(shared.items()):
                        if v == previous:
                            shared[k] = key
                shared[(number, constraint.parameter)] = key
        return shared

    def _prior(self, component, number, unit, parameter: GalfitParameter, ps, origin, constraints):
        """The prior (or fixed value), in the class's units, of parameter ``number`` (or "x"/"y") of a component."""
        value = _to_field(unit, parameter.value, ps, origin)
        if not parameter.free:
            return value
        constraint = constraints.get((component.number, str(number)))
        if constraint is not None:
            if constraint.kind == "range":
                lo, hi = constraint.low, constraint.high
            else:
                lo, hi = parameter.value + constraint.low, parameter.value + constraint.high
            if not lo <= parameter.value <= hi:
                raise ModelError(f"{constraint.where()}: component {component.number} {constraint.label or constraint.parameter}: the input value "
                                 f"{parameter.value:g} (line {parameter.line}) lies outside the constraint's range {lo:g} .. {hi:g}")
            lo, hi = sorted((_to_field(unit, lo, ps, origin), _to_field(unit, hi, ps, origin)))
            return value if lo == hi else UniformPrior(lo, hi)
        return _default_prior(unit, value)


def _dataset_model_fields() -> tuple:
    return tuple(f.name for f in dataclasses.fields(DatasetModel))


def _to_field(unit: str, value: float, ps: float, origin: float) -> float:
    if unit in ("x", "y"):
        return (value - origin) * ps
    if unit == "size":
        return value * ps
    return float(value)


def _from_field(unit: str, value: float, ps: float, origin: float) -> float:
    if unit in ("x", "y"):
        return value / ps + origin
    if unit == "size":
        return value / ps
    return float(value)


def _default_prior(unit: str, value: float):
    """Priors of free parameters without a constraint (``GalfitFeedme.model``)."""
    if unit in ("x", "y"):
        return GaussianPrior(value, 0.3)
    if unit == "mag":
        return UniformPrior(value - 15.0, value + 15.0)
    if unit == "size":
        return UniformPrior(0.0, max(30.0, 10.0 * value))
    if unit == "n":
        return UniformPrior(max(SERSIC_INDEX_MIN, min(0.8, value / 2.0)), max(5.0, 2.0 * value))
    if unit == "beta":
        return UniformPrior(1.0, max(5.0, 2.0 * value))
    if unit == "q":
        return UniformPrior(0.0, max(1.0, value))
    if unit == "angle":
        return UniformPrior(value - 90.0, value + 90.0)
    if unit == "sky":
        return GaussianPrior(value, max(1.0, abs(value)))
    raise AssertionError(unit)


# ---- reading ---------------------------------------------------------------------------------------------------------


def _number(token: str, what: str, where: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ModelError(f"{where}: {what} must be a number, got {token!r}") from None
    if not math.isfinite(value):
        raise ModelError(f"{where}: {what} must be finite, got {token!r}")
    return value


def _integer(token: str, what: str, where: str) -> int:
    value = _number(token, what, where)
    if value != int(value):
        raise ModelError(f"{where}: {what} must be an integer, got {token!r}")
    return int(value)


def _flag(token: str, where: str) -> bool:
    if token not in ("0", "1"):
        raise ModelError(f"{where}: fit flag must be 1 (free) or 0 (fixed), got {token!r}")
    return token == "1"


def _filename(text: str):
    text = text.strip()
    return None if not text or text.lower() == "none" else text.split()[0]


def _parse_control(feedme: GalfitFeedme, key: str, text: str, where: str) -> None:
    tokens = text.split()
    if key == "A":
        feedme.input_image = _filename(text)
    elif key == "B":
        feedme.output_image = _filename(text)
    elif key == "C":
        feedme.sigma_image = _filename(text)
    elif key == "D":
        feedme.psf = _filename(text)
    elif key == "E":
        feedme.psf_sampling = _integer(tokens[0], "E) PSF fine sampling factor", where) if tokens else 1
        if feedme.psf_sampling < 1:
            raise ModelError(f"{where}: E) PSF fine sampling factor must be >= 1, got {tokens[0]}")
    elif key == "F":
        feedme.mask = _filename(text)
    elif key == "G":
        feedme.constraints_file = _filename(text)
    elif key == "H":
        if len(tokens) < 4:
            raise ModelError(f"{where}: H) needs 'xmin xmax ymin ymax', got {text!r}")
        region = tuple(_integer(t, "an H) image-region bound", where) for t in tokens[:4])
        xmin, xmax, ymin, ymax = region
        if not (1 <= xmin <= xmax and 1 <= ymin <= ymax):
            raise ModelError(f"{where}: H) image region needs 1 <= xmin <= xmax and 1 <= ymin <= ymax, got {text!r}")
        feedme.region = region
    elif key == "I":
        feedme.convolution_box = tuple(_integer(t, "an I) convolution-box size", where) for t in tokens[:2]) if tokens else None
    elif key == "J":
        feedme.zero_point = _number(tokens[0], "J) magnitude zero point", where) if tokens else None
    elif key == "K":
        if len(tokens) < 2:
            raise ModelError(f"{where}: K) needs the plate scale 'dx dy' (arcsec per pixel), got {text!r}")
        scales = tuple(_number(t, "K) plate scale", where) for t in tokens[:2])
        if not all(s > 0 for s in scales):
            raise ModelError(f"{where}: K) plate scale must be positive (arcsec per pixel), got {text!r}")
        feedme.plate_scale = scales
    elif key == "O":
        feedme.display = tokens[0] if tokens else None
    elif key == "P":
        feedme.mode = _integer(tokens[0], "P) mode", where) if tokens else None


def _check_component(feedme: GalfitFeedme, component: GalfitComponent) -> None:
    where = feedme._where(component.line)
    if component.kind == "sky":
        if 1 not in component.parameters:
            raise ModelError(f"{where}: sky lacks parameter 1) (the background level)")
        return
    required = [1, *_KINDS[component.kind][1]]
    missing = [str(n) for n in required if n not in component.parameters]
    if missing:
        raise ModelError(f"{where}: {component.kind} lacks parameter(s) {', '.join(m + ')' for m in missing)}")


def read_galfit_feedme(path, constraints_path=None) -> GalfitFeedme:
    """Parse a GALFIT input file (and its constraints file G, if any; relative paths are taken relative to the
    input file's folder, or give ``constraints_path``). Raises ModelError naming file and line for malformed
    content and for what galaxyfit does not have (module docstring)."""
    path = Path(path)
    feedme = GalfitFeedme(str(path), {}, [])
    component = None
    for number, line in text_lines(path, "GALFIT input file"):
        where = f"{path}:{number}"
        head, sep, rest = line.partition(")")
        key = head.strip()
        if not sep or not key or " " in key:
            if set(line) <= set("=-"):
                continue  # GALFIT's separator rules
            raise ModelError(f"{where}: expected 'KEY) value' (a control line A-P, or a component line 0-10 / Z), got {line!r}")
        if key.isdigit():
            n = int(key)
            tokens = rest.split()
            if n == 0:
                kind = tokens[0].lower() if tokens else ""
                if kind not in _KINDS and kind != "sky":
                    why = "is not supported" if kind in _REFUSED_KINDS else "is unknown"
                    raise ModelError(f"{where}: GALFIT component {kind!r} {why} (supported: {', '.join(_KINDS)}, sky)")
                if component is not None:
                    _check_component(feedme, component)
                component = GalfitComponent(kind, len(feedme.components) + 1, line=number)
                feedme.components.append(component)
                continue
            if component is None:
                raise ModelError(f"{where}: parameter {n}) before any component '0) kind'")
            if component.kind != "sky" and n in (6, 7, 8) or n > 10:
                if n > 10:
                    raise ModelError(f"{where}: parameter {n}) is not a parameter of {component.kind}")
                continue  # GALFIT's unused slots
            if n == 1 and component.kind != "sky":
                if len(tokens) < 4:
                    raise ModelError(f"{where}: position needs '1) x y flag_x flag_y', got {rest.strip()!r}")
                x, y = (_number(t, "position", where) for t in tokens[:2])
                component.parameters[1] = (GalfitParameter(x, _flag(tokens[2], where), number), GalfitParameter(y, _flag(tokens[3], where), number))
                continue
            if component.kind != "sky" and n not in _KINDS[component.kind][1]:
                raise ModelError(f"{where}: parameter {n}) is not a parameter of {component.kind} galaxyfit supports")
            if component.kind == "sky" and n > 3:
                raise ModelError(f"{where}: sky has parameters 1) to 3), got {n})")
            if len(tokens) < 2:
                raise ModelError(f"{where}: parameter {n}) needs 'value flag', got {rest.strip()!r}")
            value = _number(tokens[0], f"parameter {n})", where)
            component.parameters[n] = GalfitParameter(value, _flag(tokens[1], where), number)
            if component.kind != "sky":
                unit = _KINDS[component.kind][1][n][1]
                bad = {"size": value <= 0, "q": value <= 0, "n": value < SERSIC_INDEX_MIN, "beta": value <= 1}.get(unit, False)
                if bad:
                    raise ModelError(f"{where}: parameter {n}) of {component.kind} = {tokens[0]} is outside its domain "
                                     + {"size": "(a size > 0)", "q": "(an axis ratio > 0)", "n": f"(n >= {SERSIC_INDEX_MIN})",
                                        "beta": "(a powerlaw > 1: finite flux)"}[unit])
        elif key.upper() == "Z":
            if component is None:
                raise ModelError(f"{where}: Z) before any component")
            component.skip_in_output = rest.split()[:1] == ["1"]
        elif key in _CONTROL_KEYS and len(key) == 1:
            feedme.control[key] = (rest.strip(), number)
            _parse_control(feedme, key, rest, where)
        elif key[0].upper() in "CBFRT" and component is not None:
            tokens = rest.split()
            if key.upper() == "C0" and len(tokens) >= 2 and _number(tokens[0], "C0)", where) == 0.0 and tokens[1] == "0":
                continue  # boxiness 0, fixed: a pure ellipse
            raise ModelError(f"{where}: {key}) (boxiness/diskiness, bending, Fourier or truncation modes) is not supported; "
                             "galaxyfit fits pure ellipses")
        elif key in ("S", "W", "U", "V"):
            feedme.control[key] = (rest.strip(), number)  # interactive/output options: kept for writing back
        else:
            raise ModelError(f"{where}: unknown line key {key!r}")
    if component is not None:
        _check_component(feedme, component)
    if not feedme.components:
        raise ModelError(f"{path}: no components ('0) kind' blocks) found")
    if feedme.constraints_file is not None or constraints_path is not None:
        cpath = Path(constraints_path) if constraints_path is not None else Path(feedme.constraints_file)
        if constraints_path is None and not cpath.is_absolute():
            cpath = path.parent / cpath
        feedme.constraints = read_galfit_constraints(cpath, feedme)
    return feedme


def read_galfit_constraints(path, feedme: GalfitFeedme) -> list:
    """The constraints of a GALFIT constraints file (forms in the module docstring) for ``feedme``'s components.
    Raises ModelError naming file and line for other forms and for components or parameters the file lacks."""
    path = Path(path)
    by_number = {c.number: c for c in feedme.components}
    out = []
    for number, line in text_lines(path, "GALFIT constraints file"):
        where = f"{path}:{number}"
        tokens = line.split()
        if len(tokens) < 3:
            raise ModelError(f"{where}: expected 'component parameter range', got {line!r}")
        spec, name, rest = tokens[0], tokens[1].lower(), tokens[2:]
        if "-" in spec or "/" in spec:
            raise ModelError(f"{where}: constraints between components ({spec!r}: differences or ratios) are not supported")
        numbers = tuple(_integer(t, "a component number", where) for t in spec.split("_"))
        for n in numbers:
            if n not in by_number:
                raise ModelError(f"{where}: no component {n} in {feedme.path} (it has 1 .. {len(feedme.components)})")
        if name in ("x", "y"):
            parameter = name
        elif name in _CONSTRAINT_NAMES:
            parameter = str(_CONSTRAINT_NAMES[name])
        elif name.isdigit() and 3 <= int(name) <= 10:
            parameter = name
        else:
            raise ModelError(f"{where}: unknown constraint parameter {tokens[1]!r} (x, y, mag, re, rs, fwhm, n, q, pa or 3 .. 10)")
        if rest[0].lower() == "offset" or rest[0].lower() == "ratio":
            if rest[0].lower() == "offset" and parameter in ("x", "y") and len(numbers) >= 2:
                out.append(GalfitConstraint(numbers, parameter, "offset", line=number, source=str(path)))
                continue
            raise ModelError(f"{where}: '{line}': only 'i_j x offset' and 'i_j y offset' (a shared coordinate) are supported among "
                             "hard constraints")
        if len(numbers) != 1:
            raise ModelError(f"{where}: a range constraint names one component, got {spec!r}")
        component = by_number[numbers[0]]
        if component.kind == "sky" or (parameter not in ("x", "y") and int(parameter) not in _KINDS[component.kind][1]):
            raise ModelError(f"{where}: component {numbers[0]} ({component.kind}) has no parameter {tokens[1]!r} galaxyfit fits")
        if len(rest) >= 3 and rest[1].lower() == "to":
            lo, hi = _number(rest[0], "a range bound", where), _number(rest[2], "a range bound", where)
            kind = "range"
        elif len(rest) >= 2:
            lo, hi = _number(rest[0], "a range bound", where), _number(rest[1], "a range bound", where)
            kind = "relative"
        else:
            raise ModelError(f"{where}: expected 'lo to hi' or 'a b' after the parameter, got {' '.join(rest)!r}")
        if lo > hi:
            raise ModelError(f"{where}: range {lo:g} .. {hi:g} has lo > hi")
        out.append(GalfitConstraint(numbers, parameter, kind, lo, hi, number, str(path), tokens[1]))
    return out


# ---- writing ---------------------------------------------------------------------------------------------------------


def _format(value: float) -> str:
    return repr(float(value))


def _free(entry, fallback: bool) -> str:
    """GALFIT's flag of a model entry: 0 for a fixed value, 1 for a prior; the file's flag without a model."""
    if entry is None:
        return "1" if fallback else "0"
    return "0" if isinstance(entry, float) else "1"


def write_galfit_feedme(path, feedme: GalfitFeedme, instance, model=None, image_shape=None, pixel_scales=None,
                        output_image: str | None = None) -> Path:
    """Write ``instance`` (e.g. ``result.max_log_likelihood_instance`` of ``feedme.model(...)``'s model) as a GALFIT
    input file usable as the next input: the control lines of ``feedme`` (B replaced by ``output_image`` if
    given), then its components in order with the instance's values in GALFIT's units and fit flags from ``model``
    (a fixed value -> 0, a prior -> 1; without ``model``, the file's flags). The constraints file G is referred to
    as in ``feedme`` (its relative ranges apply around the new input values, as in GALFIT).

    ``image_shape`` (the input image's; only needed without H, where it is the fitted one, e.g. the dataset's) and
    ``pixel_scales`` as given to ``feedme.model``. Reading the file back gives the instance's
    values as start vector (to float64 rounding) and, with the same constraints, the same model. Raises ModelError
    when the instance lacks one of the file's components or holds a different class for it."""
    ps = feedme._pixel_scale(pixel_scales)
    shape = feedme.fitted_shape(None if feedme.region is not None else image_shape)
    x_origin, y_origin = feedme._origin(shape)
    galaxies = getattr(instance, "galaxies", None)
    galaxy = getattr(galaxies, "galaxy", None) if galaxies is not None and "galaxy" in galaxies else None
    try:
        galaxy_model = model.galaxies.galaxy if model is not None else None
    except AttributeError:
        galaxy_model = None
    lines = ["# GALFIT input file written by galaxyfit (best fit)", ""]
    for key in _CONTROL_KEYS + "SWUV":
        if key == "B" and output_image is not None:
            lines.append(f"B) {output_image}")
        elif key in feedme.control:
            lines.append(f"{key}) {feedme.control[key][0]}".rstrip())
    for component in feedme.components:
        lines += ["", f"# Object number: {component.number}", f" 0) {component.kind}"]
        if component.kind == "sky":
            sky_model = getattr(model, "dataset_model", None) if model is not None and "dataset_model" in model._attributes else None
            entry = sky_model._attributes.get("background_sky_level") if sky_model is not None else None
            dataset_model = getattr(instance, "dataset_model", None) if "dataset_model" in instance else None
            level = component.parameters[1].value if dataset_model is None else float(dataset_model.background_sky_level)
            lines.append(f" 1) {_format(level)}  {_free(entry, component.parameters[1].free)}  # sky background at the region's centre [ADU]")
            for number, name, label in ((2, "background_sky_slope_x", "dsky/dx"), (3, "background_sky_slope_y", "dsky/dy")):
                original = component.parameters.get(number, GalfitParameter(0.0, False))
                slope = getattr(dataset_model, name, None) if dataset_model is not None else None
                value = original.value if slope is None else float(slope) * ps
                flag = _free(sky_model._attributes.get(name) if sky_model is not None else None, original.free)
                lines.append(f" {number}) {_format(value)}  {flag}  # {label} [ADU/pixel]")
        else:
            cls, spec = _KINDS[component.kind]
            profile = getattr(galaxy, component.name, None) if galaxy is not None else None
            if type(profile) is not cls:
                raise ModelError(f"instance.galaxies.galaxy.{component.name} must be a {cls.__name__} (the feedme's component "
                                 f"{component.number}), got {type(profile).__name__}")
            entries = component_model_entries(galaxy_model, component.name)
            centre_entries = entries.get("centre", (None, None))
            x = _from_field("x", float(profile.centre[1]), ps, x_origin)
            y = _from_field("y", float(profile.centre[0]), ps, y_origin)
            fx, fy = component.parameters[1][0].free, component.parameters[1][1].free
            lines.append(f" 1) {_format(x)} {_format(y)}  {_free(centre_entries[1], fx)} {_free(centre_entries[0], fy)}  # {_COMMENTS[1]}")
            for number, (field_name, unit) in spec.items():
                value = _from_field(unit, float(getattr(profile, field_name)), ps, 0.0)
                flag = _free(entries.get(field_name), component.parameters[number].free)
                lines.append(f"{number:2d}) {_format(value)}  {flag}  # {_COMMENTS[number]}")
        lines.append(f" Z) {1 if component.skip_in_output else 0}  # leave out of the residual image (1 = yes)")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def component_model_entries(galaxy_model, name: str) -> dict:
    """The attributes (priors or fixed values) of component ``name`` of a ``Model(Galaxy)``; {} without one."""
    if galaxy_model is None:
        return {}
    component = galaxy_model._attributes.get(name)
    return dict(component._attributes) if hasattr(component, "_attributes") else {}


# ---- for the command line ----------------------------------------------------------------------------------------------


def model_from_galfit_feedme(path, image_shape, exposure_time: float = 1.0, pixel_scales=None, redshift: float | None = None,
                             psf_sampling_handled: bool = False):
    """(model, start vector, feedme) of the GALFIT input file ``path``.

    ``image_shape`` is the *input image's* (N_y, N_x) (before cropping): the dataset to fit is
    ``data[feedme.section]`` (and the same section of the sigma image and mask) when the file has an image region
    H, the whole image otherwise; its pixel scale is ``feedme.pixel_scale`` (K) unless ``pixel_scales`` is given.
    ``exposure_time`` is the input image's EXPTIME header keyword (GALFIT's ``t_exp``; 1 when absent). File names
    (``feedme.input_image``, ``psf``, ``sigma_image``, ``mask``) are as written in the file (GALFIT reads them
    relative to the working directory). ``psf_sampling_handled`` as in ``GalfitFeedme.model`` (E > 1). Raises ModelError as ``read_galfit_feedme`` and ``GalfitFeedme.model`` do."""
    feedme = read_galfit_feedme(path)
    model, start = feedme.model(image_shape, pixel_scales, exposure_time, redshift, psf_sampling_handled)
    return model, start, feedme


def write_galfit_best_fit(path, feedme: GalfitFeedme, result, output_image: str | None = None, instance=None) -> Path:
    """Write a search's best fit (default ``result.max_log_likelihood_instance``) as a GALFIT input file
    (``write_galfit_feedme``) with the fit flags of ``result.model`` and the shape and pixel scale of
    ``result.analysis.dataset`` (the cropped region). Returns the path."""
    dataset = result.analysis.dataset
    instance = result.max_log_likelihood_instance if instance is None else instance
    return write_galfit_feedme(path, feedme, instance, model=result.model, image_shape=dataset.shape,
                               pixel_scales=dataset.pixel_scales, output_image=output_image)
