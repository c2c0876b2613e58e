"""The packages depend on each other in one direction only:
scaletol (torch-free shared facts) ← tolerance (NumPy/SciPy) ← sesn (PyTorch) ← cli.
Inside sesn, the network maths (sesn.nn) knows nothing of data or training."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "scaletol": {"torch", "sesn", "tolerance", "cli"},
    "tolerance": {"torch", "sesn", "cli"},
    "sesn": {"cli"},
    "sesn/nn": {"sesn.data", "sesn.train", "sesn.models", "cli"},
    "sesn/data": {"sesn.train", "sesn.models", "cli"},
}


def imported_names(path: Path) -> set[str]:
    """Every module that `path` imports, at any depth of the file (lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def violations(package: str, forbidden: set[str]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_names(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_a_layer_above_it(package):
    assert violations(package, FORBIDDEN[package]) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import torch.nn\n    from sesn.train import loop\n")
    assert imported_names(module) == {"torch.nn", "sesn.train"}


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in output.split()}


def test_the_suggest_command_stays_light():
    loaded = modules_loaded_by("import cli.suggest, tolerance.fit")
    assert not loaded & {"torch", "sesn", "pandas", "xarray", "matplotlib"}


def test_fit_tau_and_every_tolerance_module_load_no_torch():
    modules = sorted("tolerance." + p.stem for p in (ROOT / "tolerance").glob("*.py") if p.stem != "__init__")
    loaded = modules_loaded_by(f"import {', '.join(modules)}, cli.fit_tau")
    assert not loaded & {"torch", "sesn"}


def test_the_shared_facts_and_options_load_no_heavy_library():
    loaded = modules_loaded_by("import scaletol.datasets, scaletol.results, scaletol.figures, cli.options")
    assert not loaded & {"torch", "sesn", "pandas", "xarray", "matplotlib"}


def test_the_errors_reader_loads_pandas_and_xarray_only_when_reading():
    loaded = modules_loaded_by("import tolerance.errors_io, tolerance.errors_fit")
    assert not loaded & {"torch", "sesn", "pandas", "xarray", "matplotlib"}


def test_the_train_help_needs_no_torch():
    loaded = modules_loaded_by("import cli.train, cli.sweep")
    assert "torch" not in loaded


def modules_loaded_by_tolcli(*args: str, setup: str = "") -> set[str]:
    """The top-level modules loaded by running `tolcli ARGS` (after `setup`) in a new interpreter."""
    code = (
        f"import sys; {setup or 'pass'}\nfrom cli.main import main\ntry:\n    main({list(args)!r})\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\nprint(' '.join(sorted(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in result.stdout.splitlines()[-1].split()}


def test_suggest_loads_no_dask_and_a_sequential_sweep_runs_without_it(fake_mnist, tmp_path):
    """Dask is only for sweeps on a cluster. (xarray imports dask by itself
    when it is installed, so the sweep runs with dask made unimportable.)"""
    from sesn.data import mnist

    suggest = modules_loaded_by_tolcli("suggest", "--dist", "loguniform", "--range", "1", "8", "--ns", "3")
    assert "tolerance" in suggest and not suggest & {"dask", "distributed"}
    data = fake_mnist(48, 16)
    setup = "sys.modules.update(dask=None, distributed=None); import json; from sesn.data import mnist; "
    setup += f"mnist.SHA256.update(json.loads({json.dumps(mnist.SHA256)!r}))"
    tiny = ["--limit-train", "8", "--limit-val", "8", "--limit-test", "8", "--batch-size", "8", "--epochs", "1"]
    tiny += ["--eval-per-octave", "0.5", "--eval-limit", "4", "--max-kernel", "7", "--quiet", "--data", str(data)]
    sweep = modules_loaded_by_tolcli(
        "sweep", "--model", "toy-fixed", "--isr", "2", *tiny, "--out", str(tmp_path), setup=setup
    )
    assert "torch" in sweep and (tmp_path / "results.nc").is_file()
