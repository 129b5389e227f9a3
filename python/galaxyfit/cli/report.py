"""What the command prints about a fit: parameters with errors, fit statistics, components in each convention,
the dataset's PSF and noise model, and where the time went."""

from __future__ import annotations

import time


_PROCESS_START = time.perf_counter()  # (as the module is imported: the command's own start, to a few ms)


def _print_result(result, truth_vector=None) -> None:
    names = result.model.parameter_names
    minus, plus = result.samples.errors_at_sigma(1.0)
    header = f"{'parameter':44s} {'truth':>10s} " if truth_vector is not None else f"{'parameter':44s} "
    print(header + f"{'median':>10s} {'-1 sigma':>9s} {'+1 sigma':>9s} {'max L':>10s}")
    for i, name in enumerate(names):
        short = name.replace("galaxies.", "")
        row = f"{short:44s} "
        if truth_vector is not None:
            row += f"{truth_vector[i]:10.4f} "
        row += f"{result.median_pdf_vector[i]:10.4f} {minus[i]:9.4f} {plus[i]:9.4f} {result.max_log_likelihood_vector[i]:10.4f}"
        print(row)
    print(f"max log likelihood {result.log_likelihood:.3f}", end="")
    if result.log_evidence is not None:
        error = f" +- {result.log_evidence_error:.3f}" if result.log_evidence_error is not None else ""
        kind = " (Laplace approximation at the optimum)" if result.search.get("name") == "lm" else ""
        print(f"; log evidence{kind} {result.log_evidence:.3f}{error}")
    else:
        print()
    search = result.search
    if search.get("name") == "nuts" and "max_r_hat" in search:  # a sampler without an evidence: its convergence
        print(f"NUTS: {search['n_chains']} chains x {search['n_samples']} draws; max R-hat {search['max_r_hat']:.4f}, "
              f"min ESS {search['min_ess']:.0f}, {search['divergences']} divergent transitions, "
              f"{search['mean_tree_steps']:.1f} leapfrog steps per draw")
    intensities = result.linear_light_profile_intensities
    if intensities:
        print("solved intensities (best fit; error from the linear solve):")
        for path, entry in intensities.items():
            print(f"  {path.replace('galaxies.', ''):42s} {entry['intensity']:12.6g} +- {entry['error']:.3g}")
    print(result.check_text())


def _print_statistics(result, zero_point=None, band_log_likelihood=None) -> None:
    """chi^2, reduced chi^2, AIC, BIC, evidence, and each component in PyAutoGalaxy's, Imfit's and GALFIT's terms.
    ``band_log_likelihood``: one band of a joint fit, whose own ln L is shown instead of the joint one (and no
    evidence, which only the joint fit has)."""
    from galaxyfit.search.fit_statistics import component_table, component_text, fit_statistics, statistics_text

    statistics = fit_statistics(result)
    if band_log_likelihood is not None:
        statistics.update(log_likelihood=band_log_likelihood, log_evidence=None, log_evidence_error=None)
    print(statistics_text(statistics))
    table = component_table(result, zero_point)
    if len(table) <= 10:  # an MGE's dozens of Gaussians are in result.json / model.results, not on the screen
        print(component_text(table))
    else:
        print(f"{len(table)} light profiles: their parameters in each convention are in the results' 'components'")


def _print_timing(result, start: float) -> None:
    timing = result.timing
    if "run_s" not in timing:
        return
    total = time.perf_counter() - start
    searched = timing.get("run_s", 0.0) + timing.get("compile_s", 0.0)
    print(f"search {timing['run_s']:.1f} s ({timing.get('likelihood_calls', '?')} likelihoods, {timing.get('likelihood_s', 0.0):.1f} s "
          f"in them), compile {timing.get('compile_s', 0.0):.1f} s, everything else {max(total - searched, 0.0):.1f} s "
          f"(reading, set-up, outputs; the process started {time.perf_counter() - _PROCESS_START:.1f} s ago)")


def _psf_text(dataset) -> str:
    if dataset.psf.shape == (1, 1):
        return "no PSF"
    shape = f"PSF {dataset.psf.shape[0]}x{dataset.psf.shape[1]}"
    if dataset.psf_normalized:
        return f"{shape} normalised to unit sum (its sum was {dataset.psf_sum:.6g})"
    return f"{shape} used as given (sum {dataset.psf_sum:.6g}, not normalised)"


def _noise_text(noise_model: dict) -> str:
    """One line saying which noise model and values are used (the header's or the options')."""
    if noise_model.get("kind") != "imfit":
        return f"{noise_model.get('kind', 'sigma map')} {noise_model.get('file', '')}".strip()
    return (f"Imfit's data-based model: gain {noise_model['gain']:g} e-/data unit, read noise {noise_model['read_noise']:g} e-, "
            f"original sky {noise_model['original_sky']:g}, exposure time {noise_model['exposure_time_source']}, "
            f"{noise_model['n_combined']} combined image{'s' if noise_model['n_combined'] != 1 else ''}")
