"""What a user of the packages sees: `tolerance`'s public names, one version
everywhere, the py.typed markers and type hints on every public signature."""

import ast
import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import tolerance
import tolerance.plot

ROOT = Path(__file__).resolve().parents[1]
TYPED_PACKAGES = ("scaletol", "tolerance", "sesn")


def test_every_public_name_of_tolerance_resolves_and_is_listed():
    assert len(tolerance.__all__) == len(set(tolerance.__all__))
    for name in tolerance.__all__:
        assert getattr(tolerance, name) is not None, name
        assert name in dir(tolerance), name


def test_tolerance_offers_the_fits_the_results_and_the_figures():
    wanted = {"suggest", "suggest_ns", "combined_fit", "fit_tau_from_errors", "make_distribution"}
    wanted |= {"Suggestion", "NsScan", "CombinedFit", "TauFromErrors", "FitResult"}
    wanted |= {"plot_suggestion", "plot_suggestions", "plot_combined", "plot_ns_scan", "plot_errors_fit"}
    assert wanted <= set(tolerance.__all__)


def test_the_plotting_functions_are_those_of_tolerance_plot():
    assert tolerance.plot_suggestion is tolerance.plot.plot_suggestion
    assert tolerance.plot_errors_fit is tolerance.plot.plot_errors_fit


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = tolerance.no_such_name


def test_a_suggestion_through_the_public_names():
    advice = tolerance.suggest(tolerance.make_distribution("loguniform", 1, 8), ns=3)
    assert isinstance(advice, tolerance.Suggestion)
    assert advice.isr >= 1.5
    assert "loguniform" in advice.report()


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in output.split()}


def test_import_tolerance_loads_no_plotting_tables_or_torch():
    assert not loaded_after("import tolerance") & {"matplotlib", "pandas", "xarray", "torch", "sesn"}


def test_import_sesn_gives_the_building_blocks_of_a_network():
    import sesn

    for name in (
        "ScaleConvZ2H",
        "ScaleConvHH",
        "ScaleProjection",
        "InternalScales",
        "make_model",
        "check_equivariance",
    ):
        assert name in sesn.__all__
        assert getattr(sesn, name) is not None


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_each_package_has_the_distribution_version(package):
    assert importlib.import_module(package).__version__ == importlib.metadata.version("scaletol")


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_each_package_is_marked_typed(package):
    assert (ROOT / package / "py.typed").is_file()


def unannotated(source: str, name: str) -> list[str]:
    """Public functions and methods of public classes in the module `source`
    whose parameters (self and cls aside) or return value carry no annotation."""
    tree = ast.parse(source)
    functions = [(node, "") for node in tree.body]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            functions += [(item, node.name + ".") for item in node.body]
    missing = []
    for node, owner in functions:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name.startswith("_") and node.name != "__init__":
            continue
        args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        args += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
        if owner and args and args[0].arg in ("self", "cls"):
            args = args[1:]
        where = f"{name}:{node.lineno} {owner}{node.name}"
        missing += [f"{where}({a.arg})" for a in args if a.annotation is None]
        if node.returns is None and node.name != "__init__":
            missing.append(f"{where} -> ?")
    return missing


@pytest.mark.parametrize("package", ["scaletol", "tolerance"])
def test_every_public_signature_is_annotated(package):
    paths = sorted((ROOT / package).rglob("*.py"))
    assert [m for path in paths for m in unannotated(path.read_text(), str(path.relative_to(ROOT)))] == []


def test_the_annotation_check_sees_a_missing_hint():
    source = "class A:\n    def f(self, x: int): ...\n    def _g(self, y): ...\ndef h(z) -> int: ...\ndef _k(w): ...\n"
    assert sorted(unannotated(source, "m.py")) == ["m.py:2 A.f -> ?", "m.py:4 h(z)"]
