"""PyAutoGalaxy's log evidence of linear light profiles and an MGE on a galaxyfit sim dataset (reference numbers).

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_linear.py sim_bulge_disk

With PyAutoGalaxy 2026.10.26.1's own objects only: ``ag.Imaging`` from the FITS arrays flipped with ``np.flipud``
(PyAutoGalaxy keeps row 0 at the top), its default 4x4 over-sampling, a 3.0" circular mask, and its NumPy path
(``AnalysisImaging(use_jax=False).log_likelihood_function``, which returns the figure of merit: the log evidence of
the inversion) at the sim's true geometry for

* ``linear_sersic``: one ``lp_linear.Sersic`` (the bulge's centre, ell_comps, effective_radius, sersic_index);
* ``linear_bulge_disk``: ``lp_linear.Sersic`` + ``lp_linear.Exponential`` (the true geometry of both);
* ``mge30``: ``mge_model_from(mask_radius=3.0, total_gaussians=30)`` at centre (0, 0) and the bulge's ell_comps;

and the solved intensities. The last line of stdout is one JSON object.
"""
import json
import os
import sys
from pathlib import Path

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
os.environ["JAX_ENABLE_X64"] = "True"

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared"
BULGE = dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), effective_radius=0.6, sersic_index=4.0)
DISK = dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), effective_radius=1.6)


def main(name="sim_bulge_disk"):
    import autofit as af
    import autogalaxy as ag

    folder = SHARED / "data" / "sim" / name
    info = json.loads((folder / "sim_info.json").read_text())
    ps = float(info["pixel_scale"])

    def read(file):
        return np.flipud(np.asarray(fits.getdata(folder / file), dtype=np.float64))

    kernel = read("psf.fits")
    dataset = ag.Imaging(data=ag.Array2D.no_mask(values=read("data.fits"), pixel_scales=ps),
                         noise_map=ag.Array2D.no_mask(values=read("noise_map.fits"), pixel_scales=ps),
                         psf=ag.Convolver(kernel=ag.Array2D.no_mask(values=kernel / kernel.sum(), pixel_scales=ps)))
    dataset = dataset.apply_mask(mask=ag.Mask2D.circular(shape_native=dataset.shape_native, pixel_scales=ps, radius=3.0))
    analysis = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    out = {"autogalaxy": ag.__version__, "dataset": name}

    def evaluate(key, galaxy):
        instance = af.ModelInstance()
        instance.galaxies = af.ModelInstance()
        instance.galaxies.galaxy = galaxy
        fit = analysis.fit_from(instance=instance)
        out[key] = {"log_evidence": float(analysis.log_likelihood_function(instance)),
                    "figure_of_merit": float(fit.figure_of_merit), "chi_squared": float(fit.chi_squared),
                    "intensities": [float(v) for v in np.asarray(fit.inversion.reconstruction)]}

    evaluate("linear_sersic", ag.Galaxy(redshift=0.5, bulge=ag.lp_linear.Sersic(**BULGE)))
    evaluate("linear_bulge_disk", ag.Galaxy(redshift=0.5, bulge=ag.lp_linear.Sersic(**BULGE), disk=ag.lp_linear.Exponential(**DISK)))
    mge = ag.model_util.mge_model_from(mask_radius=3.0, total_gaussians=30)
    basis = mge.instance_from_vector([0.0, 0.0, BULGE["ell_comps"][0], BULGE["ell_comps"][1]])
    evaluate("mge30", ag.Galaxy(redshift=0.5, bulge=basis))
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
