"""Initialising learnable scales from the tolerance model (issue: the thesis's
§5 names initialisation as a main difficulty; its Table 3 spans 2.75–3.13 %
test error on [1, 8] by initialisation alone).

Trains `toy-ratio` (the thesis code's "Learn ISR") on log-uniform [1, 2.83]
and [1, 8] twice: from the thesis's initial scales (σ_basis 2 px, ISR 3; the
runs of table2.py/table4.py, reused) and from `tolcli suggest`'s σ_basis and
ISR for the training distribution (`--init suggest`, σ_unit the default).
Reports the initial and learned σ_basis and ISR and the test errors.

    python examples/init_comparison.py [--protocol medium|reduced|full] [--out runs/medium]

Writes ROOT/init_comparison.md.
"""

from __future__ import annotations

import json

import click
from training_protocol import (
    THESIS_RANGES,
    example_options,
    learned_toy,
    learned_toy_dir,
    mean_std,
    setup,
    toy_config,
    write_report,
)

from scaletol.datasets import DATASETS
from scaletol.results import learned_scale_parameters
from sesn.train.sweep import model_cells, run_sweep

MODEL = "toy-ratio"
RANGES = (THESIS_RANGES[0], THESIS_RANGES[2])  # [1, 2.83] and [1, 8]
THESIS_INIT = {name: DATASETS["dynamic-mnist"].initial_scales[name] for name in ("sigma_basis", "isr")}


@click.command(help=__doc__)
@example_options
def main(protocol, out, data_root, device, quiet):
    p, root, run, started = setup(protocol, out, data_root, device, quiet)
    thesis = learned_toy(p, root, [MODEL], ranges=RANGES, **run)
    lines = [
        f"Initial scales of {MODEL}: the thesis's against the tolerance model's ({p.name} protocol; "
        f"σ_basis in px, errors in %, {len(p.toy_seeds)} seed(s))",
        "",
        "| data range | init | initial σ_basis | initial ISR | learned σ_basis | learned ISR | test error |",
        "|---|---|---|---|---|---|---|",
    ]
    for bounds in RANGES:
        base = toy_config(p, MODEL, range=bounds, init="suggest")
        suggested = run_sweep(model_cells(base, [MODEL], p.toy_seeds), suggest_dir(root, bounds), **run)
        for init, grid in (("thesis", thesis[bounds]), ("suggest", suggested)):
            config = json.loads(grid.attrs["configs"])["0"]
            initial = {name: config[name] or THESIS_INIT[name] for name in THESIS_INIT}
            learned = learned_scale_parameters(grid)
            cells = [
                f"{initial['sigma_basis']:.3g}",
                f"{initial['isr']:.3g}",
                mean_std(learned["sigma_basis"].values.ravel()),
                mean_std(learned["learned_isr"].values.ravel()),
                mean_std(100 * grid["test_error"].values.ravel()),
            ]
            lines.append(f"| [{bounds[0]:g}, {bounds[1]:.3g}] | {init} | " + " | ".join(cells) + " |")
    write_report(root, "init_comparison", "\n".join(lines), started)


def suggest_dir(root, bounds):
    """ROOT/learned-toy/range-LO-HI-init-suggest, beside the thesis-init runs."""
    folder = learned_toy_dir(root, bounds)
    return folder.with_name(folder.name + "-init-suggest")


if __name__ == "__main__":
    main()
