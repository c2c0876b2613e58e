"""Thesis Table 5 and Table 6 (§4.3): MNIST-Scale test error of the CNN, SESN
with fixed Hermite scales (1.5 … 3 px) and the three scale-learning
parameterisations (≈495k parameters each), and the scales they learn;
`--augment` trains the "+" variant (train-time rescaling). "Learn ISR" is
`mnist-scale-ratio`, the thesis code's parameterisation (1 + γ² the ratio of
neighbouring scales); `mnist-scale-isr` is the text's Eq. 6.
DISCO is `mnist-scale-disco` (fixed scales 1.8 … 3.6 px, sub-scale ratio 1.5
in both variants; DISCO's own MNIST-Scale+ runs used 1.9).
The scale-aware baselines SiCNN, SI-ConvNet, SEVF, DSS and SS-CNN are `sesn.baselines`.

    python examples/table5.py [--protocol reduced|medium|full] [--augment] [--out runs/reduced]

Writes ROOT/table5.md (or table5-plus.md).
"""

from __future__ import annotations

import json

import click
from training_protocol import example_options, mean_std, mnist_scale, setup, write_report

MODELS = {
    "mnist-scale-cnn": "CNN",
    "mnist-scale-sesn": "SESN (Hermite)",
    "mnist-scale-ratio": "Ours (Learn ISR)",
    "mnist-scale-spacings": "Ours (Learn Spacings)",
    "mnist-scale-direct": "Ours (Learn Scales Directly)",
    "mnist-scale-disco": "DISCO",
    "mnist-scale-sicnn": "SiCNN",
    "mnist-scale-siconvnet": "SI-ConvNet",
    "mnist-scale-sevf": "SEVF",
    "mnist-scale-dss": "DSS",
    "mnist-scale-sscnn": "SS-CNN",
}
# Table 5: test error % on MNIST-Scale and MNIST-Scale+
THESIS_ERROR = {
    "mnist-scale-cnn": ("2.02 ± 0.07", "1.60 ± 0.09"),
    "mnist-scale-sesn": ("1.68 ± 0.06", "1.42 ± 0.07"),
    "mnist-scale-ratio": ("1.72 ± 0.05", "1.44 ± 0.09"),
    "mnist-scale-spacings": ("1.70 ± 0.10", "1.50 ± 0.08"),
    "mnist-scale-direct": ("1.74 ± 0.06", "1.50 ± 0.08"),
    "mnist-scale-disco": ("1.52 ± 0.06", "1.35 ± 0.05"),
    "mnist-scale-sicnn": ("2.02 ± 0.14", "1.59 ± 0.03"),
    "mnist-scale-siconvnet": ("1.82 ± 0.11", "1.59 ± 0.10"),
    "mnist-scale-sevf": ("2.12 ± 0.13", "1.81 ± 0.09"),
    "mnist-scale-dss": ("1.97 ± 0.08", "1.57 ± 0.09"),
    "mnist-scale-sscnn": ("1.84 ± 0.10", "1.76 ± 0.07"),
}
# Table 6: the four scales [px] (SESN fixed; learned without and with "+")
THESIS_SCALES = {
    "mnist-scale-sesn": (("1.5", "1.89", "2.38", "3"),) * 2,
    "mnist-scale-ratio": (
        ("1.390 ± 0.016", "1.890 ± 0.061", "2.572 ± 0.164", "3.503 ± 0.338"),
        ("1.381 ± 0.013", "2.066 ± 0.012", "3.092 ± 0.038", "4.627 ± 0.095"),
    ),
    "mnist-scale-spacings": (
        ("1.390 ± 0.011", "1.930 ± 0.099", "2.614 ± 0.300", "3.776 ± 0.600"),
        ("1.373 ± 0.013", "1.859 ± 0.069", "2.847 ± 0.091", "4.646 ± 0.306"),
    ),
    "mnist-scale-direct": (
        ("1.375 ± 0.008", "1.889 ± 0.054", "2.383 ± 0.044", "3.297 ± 0.086"),
        ("1.360 ± 0.014", "1.741 ± 0.062", "2.485 ± 0.050", "3.775 ± 0.083"),
    ),
    "mnist-scale-disco": (("1.8", "2.27", "2.86", "3.6"),) * 2,
}


@click.command(help=__doc__)
@example_options
@click.option("--augment", is_flag=True, help="MNIST-Scale+ (train-time rescaling in [0.5, 2]).")
def main(protocol, out, data_root, device, quiet, augment):
    p, root, run, started = setup(protocol, out, data_root, device, quiet)
    grid = mnist_scale(p, root, list(MODELS), augment, **run)
    configs = json.loads(grid.attrs["configs"])
    variant = int(augment)
    name = "MNIST-Scale+" if augment else "MNIST-Scale"
    lines = [
        f"Table 5 and 6, {name} ({p.name} protocol: {p.mnist_sizes[0]} training digits, "
        f"{p.mnist_epochs} epochs, {len(p.mnist_seeds)} realisation(s); thesis / ours)",
        "",
        "| model | test error % | scale 1 | scale 2 | scale 3 | scale 4 |",
        "|---|---|---|---|---|---|",
    ]
    for index in grid["config"].values:
        model = configs[str(index)]["model"]
        run_grid = grid.sel(config=index)
        cells = [f"{THESIS_ERROR[model][variant]} / {mean_std(100 * run_grid['test_error'].values)}"]
        for i, thesis in enumerate(THESIS_SCALES.get(model, (("—",) * 4,) * 2)[variant]):
            ours = mean_std(run_grid["scales"].sel(scale_index=i).values) if model in THESIS_SCALES else "—"
            cells.append(f"{thesis} / {ours}")
        lines.append(f"| {MODELS[model]} | " + " | ".join(cells) + " |")
    write_report(root, "table5-plus" if augment else "table5", "\n".join(lines), started)


if __name__ == "__main__":
    main()
