"""Thesis Table 4 (§4.2.2): learned internal scales and test error of the toy
network for three parameterisations — scales learned directly, σ_basis plus
individual spacings, σ_basis plus ISR (ours) — all initialised at
[2.0, 3.46, 6.0] px, on log-uniform [1, 2.83], [1, 4.76] and [1, 8].

The ISR rows use `toy-ratio`, the parameterisation of the thesis code that
produced its results (1 + γ² is the ratio of neighbouring scales); `toy-isr`
is the text's Eq. 6.

    python examples/table4.py [--protocol reduced|medium|full] [--out runs/reduced]

Writes ROOT/table4.md.
"""

from __future__ import annotations

import json

import click
from training_protocol import THESIS_RANGES, example_options, learned_toy, mean_std, setup, write_report

MODELS = {"toy-direct": "Direct", "toy-spacings": "Individual Spacing", "toy-ratio": "ISR"}
# Table 4: scale 1, scale 2, scale 3 [px], test error [%]
THESIS = {
    (THESIS_RANGES[0], "toy-direct"): ("1.965 ± 0.047", "3.500 ± 0.193", "6.235 ± 0.497", "2.321 ± 0.095"),
    (THESIS_RANGES[0], "toy-spacings"): ("1.967 ± 0.079", "3.591 ± 0.329", "6.930 ± 1.374", "2.285 ± 0.038"),
    (THESIS_RANGES[0], "toy-ratio"): ("1.960 ± 0.081", "3.608 ± 0.435", "6.672 ± 1.311", "2.291 ± 0.067"),
    (THESIS_RANGES[1], "toy-direct"): ("1.865 ± 0.046", "3.357 ± 0.105", "6.450 ± 0.049", "2.554 ± 0.093"),
    (THESIS_RANGES[1], "toy-spacings"): ("1.996 ± 0.013", "3.626 ± 0.158", "6.830 ± 0.167", "2.565 ± 0.061"),
    (THESIS_RANGES[1], "toy-ratio"): ("2.001 ± 0.063", "3.647 ± 0.127", "6.647 ± 0.255", "2.510 ± 0.084"),
    (THESIS_RANGES[2], "toy-direct"): ("1.689 ± 0.109", "3.262 ± 0.107", "6.997 ± 0.282", "3.057 ± 0.015"),
    (THESIS_RANGES[2], "toy-spacings"): ("1.902 ± 0.085", "3.648 ± 0.165", "8.093 ± 0.229", "3.007 ± 0.049"),
    (THESIS_RANGES[2], "toy-ratio"): ("1.943 ± 0.063", "3.977 ± 0.053", "8.145 ± 0.057", "2.872 ± 0.070"),
}


@click.command(help=__doc__)
@example_options
def main(protocol, out, data_root, device, quiet):
    p, root, run, started = setup(protocol, out, data_root, device, quiet)
    grids = learned_toy(p, root, list(MODELS), **run)
    lines = [
        f"Table 4 ({p.name} protocol; thesis / ours; scales in px, errors in %)",
        "",
        "| data range | parameterisation | scale 1 | scale 2 | scale 3 | test error |",
        "|---|---|---|---|---|---|",
    ]
    for bounds in THESIS_RANGES:
        grid = grids[bounds]
        configs = json.loads(grid.attrs["configs"])
        for index in grid["config"].values:
            model = configs[str(index)]["model"]
            run_grid = grid.sel(config=index)
            ours = [mean_std(run_grid["scales"].sel(scale_index=i).values) for i in range(3)]
            ours.append(mean_std(100 * run_grid["test_error"].values))
            cells = [f"{t} / {o}" for t, o in zip(THESIS[(bounds, model)], ours)]
            lines.append(f"| [{bounds[0]:g}, {bounds[1]:.3g}] | {MODELS[model]} | " + " | ".join(cells) + " |")
    write_report(root, "table4", "\n".join(lines), started)


if __name__ == "__main__":
    main()
