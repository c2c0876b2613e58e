import subprocess
import sys

HEAVY = ("torch", "sesn", "pandas", "xarray", "matplotlib")


def modules_loaded_by(statement):
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in output.split()}


def test_the_suggest_path_stays_light():
    loaded = modules_loaded_by("import cli.suggest, tolerance.fit")
    assert not loaded & set(HEAVY)


def test_tolerance_never_imports_torch_or_sesn():
    modules = "tolerance." + ", tolerance.".join(
        ["distributions", "empirical", "padding", "mixture", "kl", "grid", "optimise", "fit", "result",
         "errors_io", "errors_fit", "plot"])
    loaded = modules_loaded_by(f"import {modules}, cli.fit_tau")
    assert not loaded & {"torch", "sesn"}
