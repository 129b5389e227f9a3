"""Goodness-of-fit statistics of a result as Imfit and GALFIT users read them, and every light profile's parameters in
PyAutoGalaxy's convention beside Imfit's and GALFIT's.

Statistics (``fit_statistics``), with n the unmasked pixels and k the fitted parameters -- the search's free
parameters plus every linear light profile's solved intensity (those are fitted too; Imfit counts them). The pixels
of a pixelized reconstruction are not counted: their effective number depends on the regularization, so a fit with
one gets ``k`` without them and says so (``k_excludes_pixelization``).

* reduced chi^2 = chi^2 / (n - k) (Imfit's, Erwin 2015, ApJ 799, 226, section 4);
* AIC = chi^2 + 2k + 2k(k + 1) / (n - k - 1), the corrected AIC (Hurvich & Tsai 1989) that Imfit reports, with
  chi^2 standing for -2 ln L less its model-independent constant (Imfit's documentation, "Fit statistics");
* BIC = chi^2 + k ln n (Schwarz 1978), the same way.

Both compare models of the same data only (lower is better). The log likelihood and, for nested searches, the log
evidence are reported beside them.
"""

from __future__ import annotations

import math

import numpy as np

from galaxyfit.errors import ModelError


def information_criteria(chi_squared: float, n: int, k: int) -> dict:
    """{"degrees_of_freedom", "reduced_chi_squared", "aic", "bic"} for chi^2 over ``n`` pixels with ``k`` fitted
    parameters (module docstring); NaN where the formula has no value (n - k <= 0, or n - k - 1 <= 0 for the AIC's
    correction). Raises ValueError for n < 1 or k < 0."""
    if n < 1 or k < 0:
        raise ValueError(f"information_criteria needs n >= 1 pixels and k >= 0 parameters, got n={n}, k={k}")
    dof = n - k
    reduced = chi_squared / dof if dof > 0 else math.nan
    aic = chi_squared + 2 * k + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.nan
    return {"degrees_of_freedom": dof, "reduced_chi_squared": reduced, "aic": aic, "bic": chi_squared + k * math.log(n)}


def fit_statistics(result) -> dict:
    """chi^2, the pixel count n, fitted parameter count k (free + solved linear intensities), degrees of freedom,
    reduced chi^2, AIC, BIC (module docstring), max log likelihood, and log evidence with its error (None without
    one) of a search ``Result``'s best fit."""
    fit = result.max_log_likelihood_fit
    n = int(fit.pixels_in_mask)
    linear = len(result.linear_light_profile_intensities)
    k = int(result.model.prior_count) + linear
    chi2 = float(fit.chi_squared)
    out = {"chi_squared": chi2, "n_pixels": n, "n_fitted_parameters": k, "n_free_parameters": int(result.model.prior_count),
           "n_linear_intensities": linear}
    out.update(information_criteria(chi2, n, k))
    inversion = fit.inversion
    out["k_excludes_pixelization"] = bool(inversion is not None and np.size(inversion.reconstruction) > linear)
    out["log_likelihood"] = float(result.log_likelihood)
    out["log_evidence"] = result.log_evidence
    out["log_evidence_error"] = result.log_evidence_error
    return out


def magnitude(total_flux: float, zero_point: float | None) -> float | None:
    """``zero_point - 2.5 log10(total_flux)``; None without a zero point, NaN for a flux <= 0."""
    if zero_point is None:
        return None
    return zero_point - 2.5 * math.log10(total_flux) if total_flux > 0 else math.nan


def _galfit_of(imfit: dict, total_flux: float, zero_point: float | None, devauc: bool = False) -> dict:
    """GALFIT's parameters from Imfit's: the same pixel centre (1-based) and position angle (degrees counter-clockwise
    from +y, GALFIT's "up = 0"), axis ratio q = 1 - ell, and the component's integrated magnitude; sizes along the
    major axis in pixels (``sersic``/``devauc``: r_e; ``expdisk``: the scale length r_s = Imfit's h; ``gaussian``:
    FWHM; ``moffat``: FWHM and the power index). GALFIT's manual (Peng et al. 2010, AJ 139, 2097, section 3)."""
    function = imfit["function"]
    out = {"x": imfit["X0"], "y": imfit["Y0"], "q": 1.0 - imfit["ell"], "PA": imfit["PA"], "mag": magnitude(total_flux, zero_point)}
    if function == "Sersic":
        out.update(component="devauc" if devauc else "sersic", r_e=imfit["r_e"], n=imfit["n"])
    elif function == "Exponential":
        out.update(component="expdisk", r_s=imfit["h"])
    elif function == "Gaussian":
        out.update(component="gaussian", fwhm=2.0 * math.sqrt(2.0 * math.log(2.0)) * imfit["sigma"])
    elif function == "Moffat":
        out.update(component="moffat", fwhm=imfit["fwhm"], beta=imfit["beta"])
    return out


def component_table(result, zero_point: float | None = None, instance=None) -> dict[str, dict]:
    """{path: {"class", "pyautogalaxy", "total_flux", "magnitude", "imfit", "galfit"}} for every light profile of the
    best fit (linear profiles at their solved intensities): its parameters in PyAutoGalaxy's convention (centre
    (y, x) arcsec from the image centre, ell_comps, intensity, sizes in arcsec), its analytic total flux (data units)
    and magnitude for ``zero_point`` (None without one), and where the profile has one, Imfit's (``convert.to_imfit``:
    X0, Y0 1-based pixels, PA degrees from +y, ell, sizes along the major axis in pixels) and GALFIT's parameters
    (``_galfit_of``); ``imfit``/``galfit`` are None for profiles without an equivalent."""
    import dataclasses

    from galaxyfit.profiles import convert
    from galaxyfit.search.result import light_profiles_of

    instance = instance if instance is not None else result.max_log_likelihood_instance_solved
    dataset = result.analysis.dataset
    shape, scales = dataset.shape, dataset.pixel_scales
    table = {}
    for path, profile in light_profiles_of(instance).items():
        values = {f.name: _plain(getattr(profile, f.name)) for f in dataclasses.fields(profile)}
        flux = float(profile.total_flux(scales))
        try:
            imfit = convert.to_imfit(profile, shape, scales)
        except ModelError:
            imfit = None
        devauc = type(profile).__name__.removesuffix("Sph") == "DevVaucouleurs"
        galfit = None if imfit is None else _galfit_of(imfit, flux, zero_point, devauc)
        table[path] = {"class": type(profile).__name__, "pyautogalaxy": values, "total_flux": flux,
                       "magnitude": magnitude(flux, zero_point), "imfit": imfit, "galfit": galfit}
    return table


def _plain(value):
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def statistics_text(statistics: dict) -> str:
    """The statistics as two printed lines."""
    s = statistics
    line = (f"chi^2 {s['chi_squared']:.2f} over {s['n_pixels']} pixels, {s['n_fitted_parameters']} fitted parameters "
            f"({s['n_free_parameters']} free")
    line += f" + {s['n_linear_intensities']} solved intensities)" if s["n_linear_intensities"] else ")"
    line += f"; reduced chi^2 {s['reduced_chi_squared']:.4f} ({s['degrees_of_freedom']} degrees of freedom)"
    if s["k_excludes_pixelization"]:
        line += " (a pixelized reconstruction's pixels are not counted)"
    second = f"AIC {s['aic']:.2f}, BIC {s['bic']:.2f}; max log likelihood {s['log_likelihood']:.3f}"
    if s["log_evidence"] is not None:
        error = f" +- {s['log_evidence_error']:.3f}" if s["log_evidence_error"] is not None else ""
        second += f"; log evidence {s['log_evidence']:.3f}{error}"
    return line + "\n" + second


def component_text(table: dict) -> str:
    """Each component's parameters in PyAutoGalaxy's, Imfit's and GALFIT's conventions, a few lines each."""
    lines = []
    for path, row in table.items():
        name = path.replace("galaxies.", "")
        p = row["pyautogalaxy"]
        pag = ", ".join(f"{k}={_fmt(v)}" for k, v in p.items())
        lines.append(f"{name} ({row['class']}): {pag}; total flux {row['total_flux']:.6g}"
                     + (f", magnitude {row['magnitude']:.3f}" if row["magnitude"] is not None else ""))
        if row["imfit"] is not None:
            imfit = ", ".join(f"{k} {_fmt(v)}" for k, v in row["imfit"].items() if k != "function")
            lines.append(f"    Imfit  {row['imfit']['function']}: {imfit}")
            galfit = ", ".join(f"{k} {_fmt(v)}" for k, v in row["galfit"].items() if k != "component" and v is not None)
            lines.append(f"    GALFIT {row['galfit']['component']}: {galfit}")
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
