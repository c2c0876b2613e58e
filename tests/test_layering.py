"""The packages depend on each other in one direction only:
scaletol (torch-free shared facts) ← tolerance (NumPy/SciPy) ← sesn (PyTorch) ← cli.
Inside sesn, the network maths (sesn.nn) knows nothing of data or training."""

import ast
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
