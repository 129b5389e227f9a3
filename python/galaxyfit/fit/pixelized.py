"""The inversion of a model with pixelizations: linear light profiles (dense columns) and meshes (sparse blurred
mapping matrices, ``galaxyfit.pixelization.mapper``) solved together from the Gram form (``kernels.inversion.
invert_gram``), so no mesh's columns are ever formed densely.

Column order: every linear profile first (``linear_objects.linear_profiles``' order), then each pixelization's mesh
pixels in galaxy and component order. The blocks of the curvature matrix:

    F = [[B W B^T, B W f], [f^T W B, f^T W f]]     D = [B W r, f^T W r]     y^T y = r^T W r

with r = data - parametric model; f^T W f (and the cross terms between meshes) are constants of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.fit.inversion import Inversion
from galaxyfit.fit.linear_objects import LinearColumn, column_flags, linear_profiles, regularization_matrix
from galaxyfit.errors import ModelError
from galaxyfit.fit.spectral import spectral_output, spectral_parts
from galaxyfit.regularization import KERNEL_SCALE_LIMIT
from galaxyfit.kernels.inversion import FREE_SIGN, HELD_ZERO, REGULARIZED, STATUS_DEGENERATE_REGULARIZATION, invert_gram
from galaxyfit._precision import float64_api


@dataclass(frozen=True)
class MeshBlock:
    """Where a pixelization's pixels sit among the columns: its key, first column, size and mapper."""

    key: LinearColumn
    start: int
    size: int
    mapper: object


def pixelizations(galaxies) -> list:
    """(LinearColumn(galaxy, component, None), Pixelization) for every pixelization, in galaxy and component order."""
    from galaxyfit.pixelization import Pixelization

    return [(LinearColumn(g, name, None), component) for g, galaxy in enumerate(galaxies)
            for name, component in galaxy.components.items() if isinstance(component, Pixelization)]


def has_pixelization(galaxies) -> bool:
    return bool(pixelizations(galaxies))


def mapper_for(plan, pixelization, galaxy_name=None, adapt_images=None):
    """The (cached) Mapper of a pixelization's mesh on this plan's dataset, with its vertices from ``adapt_images``
    (a fixed mesh grid for the galaxy), else from the pixelization's image mesh, for meshes that need them."""
    mesh = pixelization.mesh
    grid = None
    if mesh.needs_mesh_grid:
        if adapt_images is not None:
            grid = adapt_images.image_plane_mesh_grid_for(galaxy_name)
        if grid is None and pixelization.image_mesh is not None:
            adapt = adapt_images.image_for(galaxy_name) if adapt_images is not None else None
            grid = pixelization.image_mesh.image_plane_mesh_grid_from(plan.dataset.mask, adapt)
        if grid is None:
            raise ValueError(f"{type(mesh).__name__} needs vertices: give Pixelization(image_mesh=...) or a mesh grid for "
                             f"galaxy {galaxy_name!r} through AdaptImages(galaxy_name_image_plane_mesh_grid_dict=...)")
    adapt_image = None
    if mesh.needs_adapt_image:
        adapt_image = adapt_images.image_for(galaxy_name) if adapt_images is not None else None
        if adapt_image is None:
            raise ValueError(f"{type(mesh).__name__} follows an adapt image: give AdaptImages(galaxy_name_image_dict=...) "
                             f"for galaxy {galaxy_name!r}")
    return plan.mapper(mesh, grid, adapt_image)


@float64_api
class PixelizedInversion(Inversion):
    """The inversion of linear profiles ``columns`` (k_p, N) (or None) and ``blocks`` (MeshBlock list) against
    ``data`` (N,) with ``inverse_noise`` (N,). ``profile_flags`` / ``profile_regularization`` as for
    :class:`Inversion`; ``mesh_regularization`` one H block per mesh (S_b, S_b). Same quantities as Inversion."""

    def __init__(self, columns, data, inverse_noise, profile_flags, profile_regularization, blocks, mesh_regularization,
                 settings, keys, positive_only_zeroing: bool, log_det_regularization=None, regularization_valid=True,
                 spectral=None, static_residual=None):
        self.columns = columns
        self.data = data
        self.inverse_noise = jnp.asarray(inverse_noise)
        self.blocks = list(blocks)
        self.settings = settings
        self.keys = list(keys)
        k_p = 0 if columns is None else columns.shape[0]
        self.k_profiles = k_p
        k = k_p + sum(b.size for b in self.blocks)
        flags = list(profile_flags)
        for block in self.blocks:
            zeroed = np.zeros(block.size, dtype=bool)
            if positive_only_zeroing:
                zeroed[block.mapper.zeroed] = True
            flags.extend(REGULARIZED | (HELD_ZERO if z else 0) for z in zeroed)
        self.flags = tuple(flags)

        if k_p == 0 and len(self.blocks) == 1:  # one mesh alone: H is its block (a scatter into zeros costs a pass)
            h = jnp.asarray(mesh_regularization[0])
        else:
            h = jnp.zeros((k, k))
            if profile_regularization is not None:
                h = h.at[:k_p, :k_p].set(profile_regularization)
            for block, h_block in zip(self.blocks, mesh_regularization):
                h = h.at[block.start:block.start + block.size, block.start:block.start + block.size].set(h_block)
        self.regularization_matrix = h

        w2 = self.inverse_noise**2
        weighted_residual = data * w2
        self._static_residual = static_residual
        f = jnp.zeros((k, k))
        f = f.at[k_p:, k_p:].set(jnp.asarray(_mesh_curvature(self.blocks, k - k_p)))
        d = [self._mapper_data_vector(b, weighted_residual) for b in self.blocks]
        if k_p:
            weighted = columns * w2
            f = f.at[:k_p, :k_p].set(weighted @ columns.T)
            for block in self.blocks:
                cross = block.mapper.cross_curvature(weighted)
                f = f.at[:k_p, block.start:block.start + block.size].set(cross)
                f = f.at[block.start:block.start + block.size, :k_p].set(cross.T)
            d = [columns @ weighted_residual] + d
        self._curvature = f
        self._data_vector = jnp.concatenate(d)
        self._data_norm = jnp.sum(data * weighted_residual)
        if static_residual is not None and k_p == 0:  # constants of the dataset, computed once here
            inverse_variance = np.asarray(inverse_noise) ** 2
            self._data_norm = float(np.sum(static_residual**2 * inverse_variance))
        if spectral is not None and not settings.positive_only:
            # one mesh, H = c^2 K + 1e-8 I, no positivity: O(S) per coefficient (fit/spectral.py)
            basis, coefficient = spectral
            output = spectral_output(basis, coefficient, self._data_vector, self._data_norm)
            log_det_regularization = None
        elif spectral is not None:
            # positive-only: the decomposition gives the warm start and both log-determinants, so the solve factors
            # only the passive set's block
            basis, coefficient = spectral
            guess, log_det_a, log_det_h = spectral_parts(basis, coefficient, self._data_vector)
            output = invert_gram(f, self._data_vector, self._data_norm, h, self.flags, settings,
                                 log_det_regularization=False, guess=guess, log_det_curvature_reg=False)
            output = output._replace(log_det_curvature_reg=log_det_a, evidence_term=output.evidence_term + log_det_a)
            log_det_regularization = log_det_h
        else:
            output = invert_gram(f, self._data_vector, self._data_norm, h, self.flags, settings,
                                 log_det_regularization=log_det_regularization is None)
        if log_det_regularization is not None:  # ln det H in closed form, left out of the solve
            output = output._replace(log_det_regularization=log_det_regularization,
                                     evidence_term=output.evidence_term - log_det_regularization)
        if regularization_valid is not True:  # a degenerate regularization: the sample is rejected
            output = output._replace(status=jnp.where(regularization_valid, output.status,
                                                      STATUS_DEGENERATE_REGULARIZATION).astype(output.status.dtype))
        self.output = output

    def _mapper_data_vector(self, block, weighted_residual):
        if self._static_residual is not None:
            return jnp.asarray(block.mapper.static_data_vector(self._static_residual))
        return block.mapper.data_vector(weighted_residual)

    @property
    def reconstruction_dict(self) -> dict:
        """{key: amplitude} for linear profiles, {pixelization key: (S,) reconstruction on its mesh} for meshes."""
        out = {key: self.reconstruction[i] for i, key in enumerate(self.keys[:self.k_profiles])}
        for block in self.blocks:
            out[block.key] = self.reconstruction[block.start:block.start + block.size]
        return out

    @property
    def mapped_reconstructed_image_slim(self):
        s = self.reconstruction
        image = jnp.zeros_like(self.data)
        if self.k_profiles:
            image = image + jnp.einsum("kn,k->n", self.columns, s[:self.k_profiles])
        for block in self.blocks:
            image = image + block.mapper.mapped_image(s[block.start:block.start + block.size])
        return image

    @property
    def mapper_list(self) -> list:
        """The Mapper of each pixelization (mesh, mapping matrices, vertices), in column order."""
        return [block.mapper for block in self.blocks]

    def mesh_reconstruction_dict(self) -> dict:
        """{pixelization key: dict(vertices (S, 2) (y, x) arcsec, values (S,), noise (S,) 1-sigma errors, NaN where a
        pixel was not solved for, shape (ny, nx) of a rectangular mesh or None, image (ny, nx) of the values on a
        rectangular mesh, row 0 at the lowest y)} (numpy)."""
        s = np.asarray(self.reconstruction)
        noise = self.reconstruction_noise_map
        out = {}
        for block in self.blocks:
            values = s[block.start:block.start + block.size]
            shape = block.mapper.interpolation.shape
            out[block.key] = dict(vertices=block.mapper.vertices, values=values,
                                  noise=noise[block.start:block.start + block.size], shape=shape,
                                  image=None if shape is None else values.reshape(shape))
        return out

    def reconstructed_slim_dict(self, blurred: bool = True) -> dict:
        """{pixelization key: (N,) its reconstruction's image at the unmasked pixels, PSF-blurred (f s) or not (M s)}."""
        s = self.reconstruction
        out = {}
        for block in self.blocks:
            part = s[block.start:block.start + block.size]
            out[block.key] = (np.asarray(block.mapper.mapped_image(part)) if blurred
                              else block.mapper.unblurred_image_slim(part))
        return out

    @property
    def data_vector(self):
        return self._data_vector

    @property
    def curvature_matrix(self):
        jitter = jnp.asarray([0.0 if f & REGULARIZED else self.settings.no_regularization_add_to_curvature_diag_value
                              for f in self.flags])
        return self._curvature + jnp.diag(jitter)

    @property
    def solved_mask(self) -> np.ndarray:
        s = np.asarray(self.reconstruction)
        positive = self.settings.positive_only
        held = np.array([bool(f & HELD_ZERO) and positive for f in self.flags])
        free = np.array([bool(f & FREE_SIGN) or not positive for f in self.flags])
        return (free | (s > 0)) & ~held


def _mesh_curvature(blocks, size) -> np.ndarray:
    """f^T W f over all meshes (S, S): each mesh's own block, and the cross blocks between meshes (numpy, once)."""
    out = np.zeros((size, size))
    k_p = blocks[0].start if blocks else 0
    for block in blocks:
        a = block.start - k_p
        out[a:a + block.size, a:a + block.size] = block.mapper.curvature_matrix
    for i, first in enumerate(blocks):
        for second in blocks[i + 1:]:
            cross = first.mapper.cross_curvature_with(second.mapper)
            a, b = first.start - k_p, second.start - k_p
            out[a:a + first.size, b:b + second.size] = cross
            out[b:b + second.size, a:a + first.size] = cross.T
    return out


def pixelized_inversion(galaxies, plan, data, columns, galaxy_names=None, adapt_images=None,
                        static_residual=None) -> PixelizedInversion:
    """The inversion of the galaxies' linear profiles (``columns`` (k_p, N) or None) and pixelizations;
    ``static_residual`` (N,) numpy: ``data`` when it is a constant of the dataset (the data vectors are then computed
    here once, in numpy)."""
    profile_keys = [key for key, _ in linear_profiles(galaxies)]
    k_p = len(profile_keys)
    blocks, mesh_regularization, keys = [], [], list(profile_keys)
    closed_forms = [] if k_p == 0 else None  # ln det H per block, while every block has one
    valid = True
    start = k_p
    for key, pixelization in pixelizations(galaxies):
        name = galaxy_names[key.galaxy] if galaxy_names is not None else None
        mapper = mapper_for(plan, pixelization, name, adapt_images)
        blocks.append(MeshBlock(key, start, mapper.pixels, mapper))
        adapt = adapt_images.image_for(name) if adapt_images is not None else None
        geometry = mapper.regularization_geometry(adapt)
        validity = pixelization.regularization.validity(geometry)
        if validity is not True:
            try:
                known = bool(validity)
            except jax.errors.ConcretizationTypeError:  # traced (in a search): the sample is rejected instead
                valid = valid & validity
            else:
                if not known:
                    raise ModelError(f"{pixelization.regularization!r} is degenerate on this {type(mapper.mesh).__name__} "
                                     f"mesh (a kernel scale must be positive and at most {KERNEL_SCALE_LIMIT:g} times the "
                                     f"mesh's diameter, {float(np.max(geometry.distances())):.3g} arcsec)")
        mesh_regularization.append(pixelization.regularization.regularization_matrix(geometry))
        if closed_forms is not None:
            value = pixelization.regularization.log_det_closed_form(geometry)
            closed_forms = None if value is None else closed_forms + [value]
        keys.extend(LinearColumn(key.galaxy, key.component, j) for j in range(mapper.pixels))
        start += mapper.pixels
    settings = plan.settings
    spectral = None
    if k_p == 0 and len(blocks) == 1 and settings.use_spectral_solve and valid is True:
        pixelization = pixelizations(galaxies)[0][1]
        geometry = blocks[0].mapper.regularization_geometry(adapt_images.image_for(galaxy_names[0]) if (
            adapt_images is not None and galaxy_names is not None) else None)
        structure = pixelization.regularization.scaled_structure(geometry)
        if structure is not None:
            coefficient, matrix, eigenvalues = structure
            basis = blocks[0].mapper.spectral_basis(type(pixelization.regularization).__name__, matrix, eigenvalues)
            if basis.ok:
                spectral = (basis, coefficient)
    return PixelizedInversion(columns, data, plan.inverse_noise_slim, column_flags(galaxies),
                              regularization_matrix(galaxies, k_p) if k_p else None, blocks, mesh_regularization,
                              settings.solver, keys, settings.use_positive_only_solver and settings.use_edge_zeroed_pixels,
                              sum(closed_forms) if closed_forms else None, valid, spectral, static_residual)
