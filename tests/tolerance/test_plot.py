import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scaletol.figures import save_figure  # noqa: E402
from tolerance.distributions import make_distribution  # noqa: E402
from tolerance.errors_fit import fit_tau_from_errors, predicted_errors  # noqa: E402
from tolerance.errors_io import ModelErrors  # noqa: E402
from tolerance.fit import combined_fit, suggest, suggest_ns  # noqa: E402
from tolerance.plot import (  # noqa: E402
    figure_with_axes,
    plot_combined,
    plot_errors_fit,
    plot_ns_scan,
    plot_suggestion,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def axes():
    figure, axes = figure_with_axes(3)
    return axes


def test_plot_suggestion_draws_mixture_components_scales_and_bounds(axes):
    suggestion = suggest(make_distribution("loguniform", 1, 8), 3)
    ax = plot_suggestion(suggestion, axes[0])
    assert ax is axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("tolerance mixture") == 1
    assert len(ax.get_lines()) == 1 + 3 + 3 + 2  # mixture, components, internal scales, bounds
    scale_lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in scale_lines] == pytest.approx(np.log2(suggestion.internal_scales))
    assert len(ax.collections) == 1  # the padded data density


def test_plot_suggestion_without_bounds_or_components(axes):
    suggestion = suggest(make_distribution("lognormal", 1, 8), 2)
    ax = plot_suggestion(suggestion, axes[0], components=False, legend=False)
    assert len(ax.get_lines()) == 1 + 2
    assert ax.get_legend() is None


def test_plot_combined_uses_one_panel_per_distribution_on_a_shared_axis(axes):
    fit = combined_fit([make_distribution("loguniform", 1, 2), make_distribution("loguniform", 1, 8)], 2)
    drawn = plot_combined(fit, axes[:2])
    assert len(drawn) == 2
    assert drawn[0].get_xlim() == drawn[1].get_xlim()
    assert "shared tau" in drawn[0].figure.get_suptitle()


def test_plot_ns_scan_marks_the_chosen_ns(axes):
    scan = suggest_ns(make_distribution("loguniform", 1, 8), ns_max=4)
    ax = plot_ns_scan(scan, axes[0])
    marker = [line for line in ax.get_lines() if line.get_label() == "chosen N_S"][0]
    assert marker.get_xdata()[0] == scan.chosen.ns


def test_plot_errors_fit_draws_points_and_a_curve_per_model(axes):
    scales = np.geomspace(0.7, 11, 20)
    models = [
        ModelErrors(
            {"isr": isr}, np.array([1.0, isr]), scales, predicted_errors(scales, np.array([1.0, isr]), 0.5, 0.05, 0.6)
        )
        for isr in (2.0, 4.0)
    ]
    ax = plot_errors_fit(fit_tau_from_errors(models), axes[0])
    assert len(ax.get_lines()) == 4


def test_plot_draws_on_a_new_figure_when_no_axis_is_given():
    import matplotlib.pyplot as plt

    figure = plt.figure()
    try:
        ax = plot_suggestion(suggest(make_distribution("uniform", 1, 4), 2))
        assert ax.figure is not figure and ax.figure is plt.gcf()
        assert len(figure.axes) == 0 and len(ax.get_lines()) > 0
    finally:
        plt.close("all")


def test_save_figure_writes_a_png_and_leaves_no_temporary_file(tmp_path, axes):
    plot_suggestion(suggest(make_distribution("loguniform", 1, 8), 3), axes[0])
    path = tmp_path / "figure.png"
    save_figure(axes[0].figure, path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]
