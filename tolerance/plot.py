"""Figures of the tolerance model, like the thesis's Fig. 2 and Fig. 5.

Every function takes `ax=None` (then draws on a new figure) and returns the
axis it drew on. `figure_with_axes` makes figures without pyplot (Agg
canvas), as the command line does; `scaletol.figures.save_figure` writes
them. matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from scaletol.checks import InputError
from scaletol.figures import axis_or_new
from tolerance.empirical import Empirical
from tolerance.grid import FitTarget
from tolerance.mixture import component_pdfs, mixture_pdf
from tolerance.result import KL_LABELS, CombinedFit, NsScan, Suggestion, TauFromErrors, label_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DATA_COLOUR = "0.55"
MODEL_COLOUR = "tab:blue"
BOUND_COLOUR = "tab:red"
DPI = 150  # of the figures made by figure_with_axes
HISTOGRAM_COLOUR = "tab:orange"


def _octave_ticks(ax, lo: float, hi: float) -> None:
    """Integer-octave ticks on a log2 axis, labelled 2^k."""
    ticks = np.arange(math.ceil(lo), math.floor(hi) + 1)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"$2^{{{int(t)}}}$" for t in ticks])
    ax.set_xlim(lo, hi)


def plot_suggestion(
    suggestion: Suggestion, ax: Axes | None = None, *, components: bool = True, legend: bool = True
) -> Axes:
    """Padded data density, tolerance mixture (and each component), internal scales, data bounds.

    x axis: data scale on a log2 axis; y axis: density per octave.
    """
    ax = axis_or_new(ax)
    target = FitTarget(suggestion.dist, suggestion.padding)
    x = target.x
    scales = suggestion.internal_scales
    data = target.density.pdf(x)
    mixture = mixture_pdf(x, scales, suggestion.tau)
    ax.fill_between(x, data, color=DATA_COLOUR, alpha=0.35, lw=0, label="padded data density")
    if components:
        for i, component in enumerate(component_pdfs(x, scales, suggestion.tau)):
            ax.plot(
                x, component, color=MODEL_COLOUR, lw=0.8, alpha=0.5, label="components (1/N_S each)" if i == 0 else None
            )
    ax.plot(x, mixture, color=MODEL_COLOUR, lw=2, label="tolerance mixture")
    for i, scale in enumerate(scales):
        ax.axvline(math.log2(scale), color=MODEL_COLOUR, ls="--", lw=1, label="internal scales" if i == 0 else None)
    if suggestion.dist.bounds is not None:
        # an empirical distribution's open end (a tail, not a bound) gets no line
        open_ends = getattr(suggestion.dist, "open_ends", (False, False))
        bounds = [bound for bound, is_open in zip(suggestion.dist.bounds, open_ends) if not is_open]
        for i, bound in enumerate(bounds):
            ax.axvline(math.log2(bound), color=BOUND_COLOUR, ls="-.", lw=1, label="data bounds" if i == 0 else None)
    _octave_ticks(ax, x[0], x[-1])
    headroom = 1.5 if legend else 1.1  # room for the legend above the curves
    ax.set_ylim(0, headroom * max(data.max(), mixture.max()))
    ax.set_xlabel("data scale (log2 axis)")
    ax.set_ylabel("density per octave")
    ax.set_title(
        f"{suggestion.dist.name} [{_range_text(suggestion)}]: N_S={suggestion.ns}, "
        f"c_ref={suggestion.c_ref:.3g}, ISR={suggestion.isr:.3g}, tau={suggestion.tau:.3g}",
        fontsize=9,
    )
    if legend:
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    return ax


def _range_text(suggestion: Suggestion) -> str:
    lo, hi = suggestion.to_dict()["range"]
    return f"{lo:.3g}, {hi:.3g}"


def plot_suggestions(suggestions: list[Suggestion], axes: np.ndarray | None = None) -> np.ndarray:
    """One `plot_suggestion` panel per suggestion (Fig. 5 for a combined fit); returns the axes."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(suggestions), figsize=(5 * len(suggestions), 3.6), squeeze=False)
    axes = np.ravel(axes)
    for i, (suggestion, ax) in enumerate(zip(suggestions, axes)):
        plot_suggestion(suggestion, ax, legend=i == 0)
    lo = min(ax.get_xlim()[0] for ax in axes)
    hi = max(ax.get_xlim()[1] for ax in axes)
    for ax in axes:
        _octave_ticks(ax, lo, hi)
    return axes


def plot_observed(suggestion: Suggestion, ax: Axes | None = None, *, per_octave: int = 4, legend: bool = True) -> Axes:
    """`plot_suggestion` of an empirical distribution over the histogram of its observations.

    The histogram has bins of 1/per_octave octave aligned to powers of 2 and
    is drawn as a density per octave, like the curves above it; the x axis
    spans the observations and internal scales with an octave to spare.
    """
    from tolerance.boxes import octave_histogram

    observed = suggestion.dist
    if not isinstance(observed, Empirical):
        raise InputError(f"dist={observed.name!r} must be 'empirical': only observations have a histogram")
    ax = axis_or_new(ax)
    edges, counts = octave_histogram(observed.scales, per_octave)
    density = counts / (counts.sum() * (edges[1] - edges[0]))
    ax.stairs(density, edges, fill=True, color=HISTOGRAM_COLOUR, alpha=0.45, lw=0, label="observed (histogram)")
    plot_suggestion(suggestion, ax, legend=False)
    scales = np.log2(suggestion.internal_scales)
    _octave_ticks(ax, min(edges[0], scales[0]) - 1.0, max(edges[-1], scales[-1]) + 1.0)
    top = max(ax.get_ylim()[1], 1.1 * density.max())
    ax.set_ylim(0, top * (1.4 if legend else 1.0))
    ax.set_title(
        f"{observed.scales.size} observations: N_S={suggestion.ns}, "
        f"c_ref={suggestion.c_ref:.3g}, ISR={suggestion.isr:.3g}, tau={suggestion.tau:.3g}",
        fontsize=9,
    )
    if legend:
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    return ax


def plot_combined(fit: CombinedFit, axes: np.ndarray | None = None) -> np.ndarray:
    """Fig. 5: every distribution of a combined fit with the shared τ; returns the axes."""
    axes = plot_suggestions(fit.suggestions, axes)
    axes[0].figure.suptitle(f"combined fit: shared tau = {fit.tau:.3f} octaves", fontsize=10)
    return axes


def plot_ns_scan(scan: NsScan, ax: Axes | None = None) -> Axes:
    """KL of the best fit for each N_S, the chosen one marked."""
    ax = axis_or_new(ax)
    ns = [s.ns for s in scan.candidates]
    kl = [s.kl for s in scan.candidates]
    ax.semilogy(ns, kl, "o-", color=MODEL_COLOUR, label=KL_LABELS[scan.chosen.direction])
    ax.axhline(min(kl) + scan.tolerance, color="0.5", ls=":", lw=1, label=f"best + {scan.tolerance:g} nats")
    ax.plot([scan.chosen.ns], [scan.chosen.kl], "o", ms=12, mfc="none", color=BOUND_COLOUR, label="chosen N_S")
    ax.set_xticks(ns)
    ax.set_xlabel("number of internal scales N_S")
    ax.set_ylabel("KL [nats]")
    ax.legend(fontsize=7)
    return ax


def plot_errors_fit(result: TauFromErrors, ax: Axes | None = None) -> Axes:
    """Recorded errors per data scale (points) and the fitted error model (lines), one colour per model."""
    from tolerance.errors_fit import predicted_errors

    ax = axis_or_new(ax)
    for i, (model, floor, gain) in enumerate(zip(result.models, result.floors, result.gains)):
        colour = f"C{i % 10}"
        ax.plot(np.log2(model.data_scales), model.errors, ".", color=colour, ms=4, label=label_text(model.label))
        fine = np.geomspace(model.data_scales.min(), model.data_scales.max(), 200)
        ax.plot(
            np.log2(fine), predicted_errors(fine, model.internal_scales, result.tau, floor, gain), color=colour, lw=1
        )
    lo = min(np.log2(m.data_scales).min() for m in result.models)
    hi = max(np.log2(m.data_scales).max() for m in result.models)
    _octave_ticks(ax, lo, hi)
    ax.set_xlabel("data scale (log2 axis)")
    ax.set_ylabel("test error")
    spread = f"+- {result.tau_stderr:.3f}" if result.fit.success else "(not identifiable)"
    ax.set_title(f"error model fit: tau = {result.tau:.3f} {spread} octaves", fontsize=9)
    if len(result.models) <= 12:
        ax.legend(fontsize=6, ncol=2)
    return ax


def figure_with_axes(panels: int = 1, *, width: float = 5.0, height: float = 3.6) -> tuple[Figure, np.ndarray]:
    """A pyplot-free Figure with `panels` axes side by side; returns (figure, axes array)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * panels, height), layout="constrained", dpi=DPI)
    return figure, np.ravel(figure.subplots(1, panels, squeeze=False))
