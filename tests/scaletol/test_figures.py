import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from scaletol.checks import InputError, MissingFileError  # noqa: E402
from scaletol.figures import (  # noqa: E402
    axis_or_new,
    plot_error_per_scale_by_range,
    plot_error_vs_isr,
    save_figure,
)
from scaletol.results import merge_results, run_results  # noqa: E402

PNG, PDF, SVG = b"\x89PNG", b"%PDF", b"<?xml"


def isr_grid(lo, hi):
    cells = [
        run_results(
            description={"seed": 0, "range": [lo, hi]},
            data_scale=[1.0, 2.0],
            error=[0.1, 0.2],
            n=[5, 5],
            scales=[2.0, 2.0 * isr],
            test_error=0.1 * isr,
            val_error=0.1,
            isr=isr,
        )
        for isr in (2.0, 4.0)
    ]
    return merge_results(cells)


def test_without_an_axis_every_plot_draws_on_a_new_figure():
    try:
        before = plt.figure()
        parts = [((1.0, 8.0), isr_grid(1.0, 8.0)), ((1.0, 2.83), isr_grid(1.0, 2.83))]
        ax = plot_error_vs_isr(parts)
        axes = plot_error_per_scale_by_range(parts)
        assert ax.figure is not before and axes[0].figure not in (before, ax.figure)
        assert len(axes) == 2 and all(len(a.lines) == 2 for a in axes)
        assert axis_or_new(ax) is ax
    finally:
        plt.close("all")


@pytest.mark.parametrize(("suffix", "magic"), [(".png", PNG), (".pdf", PDF), (".svg", SVG)])
def test_the_suffix_names_the_format_and_the_write_is_atomic(tmp_path, suffix, magic):
    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    path = save_figure(figure, tmp_path / f"figure{suffix}")
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"figure{suffix}"]


def test_a_pyplot_figure_is_closed_once_saved(tmp_path):
    ax = axis_or_new()
    ax.plot([1, 2, 3])
    number = ax.figure.number
    save_figure(ax.figure, tmp_path / "f.png")
    assert number not in plt.get_fignums()


def test_the_dpi_is_the_figures_unless_given(tmp_path):
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.subplots()
    small = plt.imread(save_figure(figure, tmp_path / "small.png"))
    large = plt.imread(save_figure(figure, tmp_path / "large.png", dpi=100))
    assert small.shape[:2] == (50, 100) and large.shape[:2] == (100, 200)


def test_unwritable_paths_are_input_errors_before_anything_is_drawn(tmp_path):
    figure = Figure()
    with pytest.raises(MissingFileError, match="does not exist") as caught:
        save_figure(figure, tmp_path / "absent" / "f.png")
    assert isinstance(caught.value, FileNotFoundError)
    for name in ("f", "f.xyz"):
        with pytest.raises(InputError, match=f"{name}'.*suffix naming an image format"):
            save_figure(figure, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
