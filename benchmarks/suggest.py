"""Speed of the tolerance model: `tolcli suggest --json` as a whole process, and the fits in process.

    python benchmarks/suggest.py [--repeats 7] [--json]

Prints one row per measurement: the best and the median wall time over the
repeats, and the targets (`tolcli suggest ... --json` at most 0.35 s as a
whole process, a combined fit of 40 distributions under 10 s). Timings depend
on machine load, which is shown, as are the heavy modules the suggest command
loads (none: not even SciPy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import timeit

import numpy as np

SUGGEST = ["suggest", "--dist", "loguniform", "--range", "1", "8", "--ns", "3", "--json"]
HEAVY_MODULES = ("torch", "sesn", "scipy", "pandas", "xarray", "matplotlib")


def tolcli() -> list[str]:
    """The `tolcli` console script, or the module form if it is not on PATH."""
    script = shutil.which("tolcli")
    return [script] if script else [sys.executable, "-m", "cli"]


def time_process(argv: list[str], repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` runs of the process `argv`."""
    return time_call(lambda: subprocess.run(argv, check=True, capture_output=True), repeats)


def time_call(function, repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` calls of `function` (stdlib timeit:
    torch-free, like the tolerance model it times)."""
    return timeit.repeat(function, number=1, repeat=repeats)


def modules_loaded_by_suggest() -> list[str]:
    """Heavy top-level modules present after running the suggest command in one interpreter."""
    code = (
        "import json, sys\n"
        "from cli.main import main\n"
        f"sys.argv = ['tolcli', *{SUGGEST!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        f"print(json.dumps(sorted(loaded & set({HEAVY_MODULES!r}))), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(run.stderr.strip().splitlines()[-1])


def synthetic_errors():
    from tolerance.errors_fit import predicted_errors
    from tolerance.errors_io import ModelErrors

    rng = np.random.default_rng(0)
    scales = np.geomspace(2**-0.5, 2**3.5, 45)
    models = []
    for seed in range(3):
        for isr in (1.5, 2.4, 3.8, 6.0):
            internal = isr ** (np.arange(3) / 2)
            errors = predicted_errors(scales, internal, 0.6, 0.03, 0.7) + rng.normal(0, 0.01, scales.size)
            models.append(ModelErrors({"seed": seed, "isr": isr}, internal, scales, errors))
    return models


def measure(repeats: int) -> list[dict]:
    from tolerance.distributions import make_distribution
    from tolerance.errors_fit import fit_tau_from_errors
    from tolerance.fit import combined_fit, suggest, suggest_ns

    command = tolcli()
    thesis = [make_distribution("loguniform", 1.0, 2.0**b) for b in (1.5, 2.25, 3.0)]
    forty = [make_distribution("loguniform", 1.0, 2.0 ** (1 + 3 * i / 39)) for i in range(40)]
    dist = make_distribution("loguniform", 1.0, 8.0)
    models = synthetic_errors()
    rows = [
        ("python -c pass (interpreter start)", time_process([sys.executable, "-c", "pass"], repeats), None),
        ("import cli.suggest (process)", time_process([sys.executable, "-c", "import cli.suggest"], repeats), None),
        ("tolcli " + " ".join(SUGGEST), time_process(command + SUGGEST, repeats), 0.35),
        (
            "tolcli suggest ... --ns auto --json",
            time_process(command + SUGGEST[:-3] + ["--ns", "auto", "--json"], repeats),
            None,
        ),
        ("suggest(): fit only, N_S = 3", time_call(lambda: suggest(dist, 3), repeats), None),
        ("suggest_ns(): N_S = 1..8", time_call(lambda: suggest_ns(dist), repeats), None),
        ("combined_fit(): thesis, KL(model||data)", time_call(lambda: combined_fit(thesis, 3), repeats), 3.0),
        (
            "combined_fit(): thesis, KL(data||model)",
            time_call(lambda: combined_fit(thesis, 3, direction="data-model"), repeats),
            3.0,
        ),
        (
            "combined_fit(): 40 log-uniform ranges",
            time_call(lambda: combined_fit(forty, 3), max(1, repeats // 3)),
            10.0,
        ),
        ("fit_tau_from_errors(): 12 models x 45 scales", time_call(lambda: fit_tau_from_errors(models), repeats), None),
    ]
    return [
        {
            "name": name,
            "repeats": len(times),
            "best_s": min(times),
            "median_s": statistics.median(times),
            "target_s": target,
        }
        for name, times, target in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per measurement (default 7)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    rows = measure(args.repeats)
    context = {
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "heavy_modules_loaded_by_suggest": modules_loaded_by_suggest(),
    }
    if args.json:
        print(json.dumps({"context": context, "timings": rows}, indent=2))
        return
    width = max(len(row["name"]) for row in rows)
    print(f"{'measurement'.ljust(width)}  best [s]  median [s]  target [s]")
    for row in rows:
        target = "" if row["target_s"] is None else f"< {row['target_s']:g}"
        print(f"{row['name'].ljust(width)}  {row['best_s']:8.3f}  {row['median_s']:10.3f}  {target}")
    print(
        f"\n{context['cpus']} CPUs, load average {context['load_average_1min']:.2f}; "
        f"heavy modules loaded by suggest: {context['heavy_modules_loaded_by_suggest'] or 'none'}"
    )


if __name__ == "__main__":
    main()
