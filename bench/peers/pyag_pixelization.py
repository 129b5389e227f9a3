"""PyAutoGalaxy's log evidence of pixelized reconstructions on a galaxyfit sim dataset (reference numbers).

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_pixelization.py sim_bulge_disk [--dump DIR]

With PyAutoGalaxy 2026.10.26.1's own objects only, set up as ``pyag_linear.py`` does (FITS arrays flipped with
``np.flipud``, its default over-sampling: 4 x 4 for light profiles and ``over_sample_size_pixelization=4``, a 3.0"
circular mask, its NumPy path, its configuration as it resolves: ``use_border_relocator`` False, ``use_edge_zeroed_pixels`` True; the
``*_relocated`` cases turn the border relocation on):

* ``rectangular_constant``: ``Pixelization(mesh=RectangularUniform((30, 30)), regularization=Constant(1.0))`` with
  ``Settings(use_positive_only_solver=False)``; ``rectangular_constant_positive``: the same, positive-only (the
  edge ring of the mesh held at zero);
* ``delaunay_constant`` / ``delaunay_constant_split``: ``Delaunay(pixels, zeroed_pixels=0)`` on the vertices of
  ``Overlay(shape=(30, 30)).image_plane_mesh_grid_from(mask)`` (handed in through ``AdaptImages``) with ``Constant(1.0)``
  and ``ConstantSplit(1.0)``, unconstrained; the vertices and the triangulation's simplices are stored with them;
* ``hilbert_constant``: ``Delaunay(500)`` on ``Hilbert(pixels=500, weight_floor=0.1, weight_power=1.0)``'s vertices from
  an adapt image (the data floored at 1% of its maximum), ``Constant(1.0)``, unconstrained.

The last line of stdout is one JSON object. ``--dump DIR`` also writes each case's mapping matrix, regularization
matrix and reconstruction to DIR/<case>.npz (for debugging a mismatch).
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


def main(name="sim_bulge_disk", *args):
    import autofit as af
    import autogalaxy as ag
    import autoarray as aa

    dump = Path(args[args.index("--dump") + 1]) if "--dump" in args else None
    folder = SHARED / "data" / "sim" / name
    info = json.loads((folder / "sim_info.json").read_text())
    ps = float(info["pixel_scale"])

    def read(file):
        return np.flipud(np.asarray(fits.getdata(folder / file), dtype=np.float64))

    kernel = read("psf.fits")
    dataset = ag.Imaging(data=ag.Array2D.no_mask(values=read("data.fits"), pixel_scales=ps),
                         noise_map=ag.Array2D.no_mask(values=read("noise_map.fits"), pixel_scales=ps),
                         psf=ag.Convolver(kernel=ag.Array2D.no_mask(values=kernel / kernel.sum(), pixel_scales=ps)))
    mask = ag.Mask2D.circular(shape_native=dataset.shape_native, pixel_scales=ps, radius=3.0)
    dataset = dataset.apply_mask(mask=mask)
    out = {"autogalaxy": ag.__version__, "dataset": name}

    def evaluate(key, pixelization, settings, adapt_images=None):
        analysis = ag.AnalysisImaging(dataset=dataset, adapt_images=adapt_images, settings=settings, use_jax=False)
        instance = af.ModelInstance()
        instance.galaxies = af.ModelInstance()
        instance.galaxies.galaxy = ag.Galaxy(redshift=0.5, pixelization=pixelization)
        fit = analysis.fit_from(instance=instance)
        inversion = fit.inversion
        out[key] = {"log_evidence": float(analysis.log_likelihood_function(instance)),
                    "figure_of_merit": float(fit.figure_of_merit), "chi_squared": float(fit.chi_squared),
                    "regularization_term": float(inversion.regularization_term),
                    "log_det_curvature_reg_matrix_term": float(inversion.log_det_curvature_reg_matrix_term),
                    "log_det_regularization_matrix_term": float(inversion.log_det_regularization_matrix_term),
                    "noise_normalization": float(fit.noise_normalization),
                    "reconstruction_sum": float(np.sum(inversion.reconstruction)),
                    "reconstruction_min": float(np.min(inversion.reconstruction))}
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            mapper = inversion.cls_list_from(cls=aa.Mapper)[0] if hasattr(inversion, "cls_list_from") else None
            arrays = dict(mapping_matrix=np.asarray(inversion.mapping_matrix),
                          regularization_matrix=np.asarray(inversion.regularization_matrix),
                          curvature_matrix=np.asarray(inversion.curvature_matrix),
                          data_vector=np.asarray(inversion.data_vector),
                          reconstruction=np.asarray(inversion.reconstruction))
            if mapper is not None:
                arrays["mesh_grid"] = np.asarray(mapper.source_plane_mesh_grid)
                arrays["data_grid"] = np.asarray(mapper.source_plane_data_grid.over_sampled)
            np.savez(dump / f"{key}.npz", **arrays)
        return fit

    rect = lambda: ag.Pixelization(mesh=ag.mesh.RectangularUniform(shape=(30, 30)), regularization=ag.reg.Constant(coefficient=1.0))
    evaluate("rectangular_constant", rect(), ag.Settings(use_positive_only_solver=False))
    evaluate("rectangular_constant_positive", rect(), ag.Settings(use_positive_only_solver=True))
    # Its configuration resolves use_border_relocator to False (autoarray's general.yaml wins over autogalaxy's); the
    # relocated variants check galaxyfit's border relocation.
    evaluate("rectangular_constant_relocated", rect(), ag.Settings(use_positive_only_solver=False, use_border_relocator=True))
    out["use_border_relocator_default"] = bool(ag.Settings().use_border_relocator)
    # adaptive rectangular meshes (the image one steered by the data floored at 1% of its maximum), positive-only
    adapt_data = read("data.fits")
    adapt_data = np.where(adapt_data < 0.01 * adapt_data.max(), 0.01 * adapt_data.max(), adapt_data)
    adapt_images = ag.AdaptImages(galaxy_name_image_dict={"('galaxies', 'galaxy')": ag.Array2D(values=adapt_data[~np.asarray(dataset.mask)], mask=dataset.mask)})
    for key, mesh, positive in (("adapt_density_constant", ag.mesh.RectangularBilinearAdaptDensity(shape=(30, 30)), False),
                                ("adapt_density_constant_positive", ag.mesh.RectangularBilinearAdaptDensity(shape=(30, 30)), True),
                                ("adapt_image_constant", ag.mesh.RectangularBilinearAdaptImage(shape=(30, 30), weight_power=1.0), False)):
        evaluate(key, ag.Pixelization(mesh=mesh, regularization=ag.reg.Constant(coefficient=1.0)),
                 ag.Settings(use_positive_only_solver=positive), adapt_images=adapt_images)

    overlay = ag.image_mesh.Overlay(shape=(30, 30))
    grid = overlay.image_plane_mesh_grid_from(mask=dataset.mask)
    adapt = ag.AdaptImages(galaxy_name_image_plane_mesh_grid_dict={"('galaxies', 'galaxy')": grid})
    vertices = np.asarray(grid)
    for key, reg, relocate in (("delaunay_constant", ag.reg.Constant(coefficient=1.0), False),
                               ("delaunay_constant_relocated", ag.reg.Constant(coefficient=1.0), True),
                               ("delaunay_constant_split", ag.reg.ConstantSplit(coefficient=1.0), False)):
        fit = evaluate(key, ag.Pixelization(mesh=ag.mesh.Delaunay(pixels=len(vertices), zeroed_pixels=0), regularization=reg),
                       ag.Settings(use_positive_only_solver=False, use_border_relocator=relocate), adapt_images=adapt)
    out["overlay_vertices"] = vertices.tolist()

    # Hilbert: vertices drawn from an adapt image (the data floored at 1% of its maximum), Delaunay + Constant
    data = read("data.fits")
    adapt_image = np.where(data < 0.01 * data.max(), 0.01 * data.max(), data)
    adapt_array = ag.Array2D(values=adapt_image, mask=dataset.mask) if hasattr(ag, "Array2D") else adapt_image
    hilbert = ag.image_mesh.Hilbert(pixels=500, weight_floor=0.1, weight_power=1.0)
    hilbert_grid = hilbert.image_plane_mesh_grid_from(mask=dataset.mask, adapt_data=ag.Array2D.no_mask(values=adapt_image, pixel_scales=ps))
    out["hilbert_vertices"] = np.asarray(hilbert_grid).tolist()
    kmeans_grid = ag.image_mesh.KMeans(pixels=300, weight_floor=0.1, weight_power=1.0).image_plane_mesh_grid_from(
        mask=dataset.mask, adapt_data=ag.Array2D(values=adapt_image[~np.asarray(dataset.mask)], mask=dataset.mask))
    out["kmeans_vertices"] = np.asarray(kmeans_grid).tolist()
    evaluate("hilbert_constant", ag.Pixelization(mesh=ag.mesh.Delaunay(pixels=500, zeroed_pixels=0), regularization=ag.reg.Constant(coefficient=1.0)),
             ag.Settings(use_positive_only_solver=False),
             adapt_images=ag.AdaptImages(galaxy_name_image_plane_mesh_grid_dict={"('galaxies', 'galaxy')": hilbert_grid}))
    try:
        mapper = fit.inversion.cls_list_from(cls=aa.Mapper)[0]
        from scipy.spatial import Delaunay

        out["delaunay_simplices"] = Delaunay(np.asarray(mapper.source_plane_mesh_grid)).simplices.tolist()
    except Exception as error:  # the stored simplices are a convenience; the vertices alone reproduce the mesh
        out["delaunay_simplices_error"] = repr(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
