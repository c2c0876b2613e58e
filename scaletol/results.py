"""Results files: per-scale test errors of trained models as netCDF
(NETCDF3 through xarray's scipy engine).

One file holds a grid of runs. Dims: `seed`, then `isr` (the fixed or initial
ISR of each run) or `config` (an index; the run configs are JSON in
attrs["configs"]), then `data_scale` (magnification factor) and `scale_index`.
Variables: error(seed, isr, data_scale) and test_error / val_error(seed, isr)
as fractions, n(data_scale) test samples per scale, scales(seed, isr,
scale_index) learned internal scales in pixels (NaN beyond a model's N_S).
attrs["config"] is the JSON of the settings every run in the file shares,
attrs["scaletol_version"] the version that wrote it.

The constants below are this layout, for every reader (tolerance.errors_io
too); importing this module loads neither pandas nor xarray.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from scaletol import __version__
from scaletol.checks import InputError, check_file, unreadable
from scaletol.files import atomic_write

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

SEED_DIM = "seed"
GRID_DIMS = ("isr", "config")  # exactly one indexes the runs of a file
DATA_SCALE_DIM = "data_scale"
SCALE_INDEX_DIM = "scale_index"
VARIABLES = ("error", "n", "scales", "test_error", "val_error")
CONFIG_ATTR = "config"  # JSON: the settings every run shares
CONFIGS_ATTR = "configs"  # JSON: {config index: that run's settings}, config grids only
VERSION_ATTR = "scaletol_version"


def run_results(
    *,
    description: dict,
    data_scale: ArrayLike,
    error: ArrayLike,
    n: ArrayLike,
    scales: ArrayLike,
    test_error: float,
    val_error: float,
    isr: float,
) -> xr.Dataset:
    """The results of one run as a one-cell grid indexed by (seed, isr).

    description: the run's settings (JSON-ready; at least seed, ns, sigma_unit,
    model, dataset, dist, range, mode). data_scale, error, n: per-scale grid
    [D], errors as fractions. scales: final internal scales [N_S] in px (empty
    for a CNN, stored as one NaN). isr: the fixed or initial ISR.
    """
    import xarray as xr

    cell = ("seed", "isr")
    scales = np.asarray(scales, dtype=np.float64).reshape(-1)
    if scales.size == 0:  # NETCDF3 readers reject empty dims: one NaN instead
        scales = np.full(1, np.nan)
    ds = xr.Dataset(
        {
            "error": (cell + ("data_scale",), np.asarray(error, np.float64)[None, None, :]),
            "n": (("data_scale",), np.asarray(n, np.int32)),
            "scales": (cell + ("scale_index",), scales[None, None, :]),
            "test_error": (cell, [[float(test_error)]]),
            "val_error": (cell, [[float(val_error)]]),
        },
        coords={
            "seed": np.array([int(description["seed"])], np.int32),
            "isr": [float(isr)],
            "data_scale": np.asarray(data_scale, np.float64),
            "scale_index": np.arange(scales.size, dtype=np.int32),
        },
    )
    ds.attrs[CONFIG_ATTR] = json.dumps(description, sort_keys=True)
    ds.attrs[VERSION_ATTR] = __version__
    return ds


def as_config_cell(ds: xr.Dataset, index: int, **labels: float) -> xr.Dataset:
    """A one-run (seed, isr) result relabelled as entry `index` of a config
    grid: dim `config`, the initial ISR kept as coordinate initial_isr(config)
    plus any numeric `labels` (e.g. range_lo, range_hi), and the run's settings
    in `attrs["configs"][index]`."""
    cell = ds.rename({"isr": "initial_isr"}).swap_dims({"initial_isr": "config"})
    cell = cell.assign_coords(
        config=np.array([index], np.int32), **{k: ("config", [float(v)]) for k, v in labels.items()}
    )
    cell.attrs["configs"] = json.dumps({str(index): json.loads(ds.attrs["config"])}, sort_keys=True)
    return cell


def by_range(ds: xr.Dataset) -> list[tuple[tuple[float, float], xr.Dataset]]:
    """Split a results grid into (data range, (seed, isr) grid) pairs: one
    pair for an isr-indexed file, one per (range_lo, range_hi) for a config
    grid that carries those coordinates."""
    if grid_dim(ds) == "isr":
        return [(tuple(json.loads(ds.attrs["config"])["range"]), ds)]
    if "range_lo" not in ds.coords:
        raise InputError("this config grid has no data ranges (coords range_lo, range_hi)")
    pairs = []
    for lo, hi in sorted(set(zip(ds["range_lo"].values.tolist(), ds["range_hi"].values.tolist()))):
        part = ds.isel(config=(ds["range_lo"].values == lo) & (ds["range_hi"].values == hi))
        part = part.swap_dims({"config": "initial_isr"}).drop_vars(["config", "range_lo", "range_hi"])
        pairs.append(((lo, hi), part.rename({"initial_isr": "isr"}).sortby("isr")))
    return pairs


def grid_dim(ds: xr.Dataset) -> str:
    """'isr' or 'config': the dimension that indexes the runs of `ds`."""
    found = [d for d in GRID_DIMS if d in ds.dims]
    if len(found) != 1:
        raise InputError(f"results need exactly one of the dims {GRID_DIMS}, found {list(ds.dims)}")
    return found[0]


def merge_results(parts: list[xr.Dataset]) -> xr.Dataset:
    """Merge runs (one-cell or larger grids) into one grid; missing cells are
    NaN. All parts must share the grid dim and the data_scale grid. attrs
    "config" keeps the settings that agree across every part."""
    import xarray as xr

    if not parts:
        raise InputError("nothing to merge: no results given")
    dims = {grid_dim(p) for p in parts}
    if len(dims) != 1:
        raise InputError(f"cannot merge results indexed by different dims: {sorted(dims)}")
    first = parts[0]["data_scale"].values
    for part in parts[1:]:
        if not np.array_equal(part["data_scale"].values, first):
            raise InputError("cannot merge results evaluated on different data_scale grids")
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop")
    merged["n"] = merged["n"].astype(np.int32)
    merged.attrs["config"] = json.dumps(_common_settings(parts), sort_keys=True)
    if dims == {"config"}:
        configs = {}
        for part in parts:
            configs.update(json.loads(part.attrs["configs"]))
        merged.attrs["configs"] = json.dumps(configs, sort_keys=True)
    merged.attrs[VERSION_ATTR] = __version__
    return merged


def _common_settings(parts: list[xr.Dataset]) -> dict:
    configs = [json.loads(p.attrs["config"]) for p in parts]
    return {k: v for k, v in configs[0].items() if all(c.get(k, None) == v and k in c for c in configs)}


def write_results(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Save `ds` as NETCDF3 at `path`, atomically."""
    ds = ds.copy()
    for name, var in ds.variables.items():
        if var.dtype == np.int64:
            ds[name] = var.astype(np.int32)
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT"))


def read_results(path: str | os.PathLike) -> xr.Dataset:
    """Load a results file fully into memory (the file is closed again). A
    missing or malformed file is an InputError naming it."""
    import xarray as xr

    path = check_file("results", path)
    try:
        with xr.open_dataset(path, engine="scipy") as ds:
            ds = ds.load()
    except (TypeError, ValueError, OSError) as exc:
        raise unreadable("results", path, exc) from None
    missing = [v for v in VARIABLES if v not in ds]
    if missing or CONFIG_ATTR not in ds.attrs:
        raise unreadable("results", path, f"missing {missing or ['attrs ' + CONFIG_ATTR]}")
    grid_dim(ds)
    return ds


def learned_scale_parameters(ds: xr.Dataset) -> xr.Dataset:
    """sigma_basis (smallest scale, px) and learned_isr (largest/smallest) of
    every run."""
    import xarray as xr

    scales = ds["scales"]
    return xr.Dataset(
        {
            "sigma_basis": scales.min("scale_index"),
            "learned_isr": scales.max("scale_index") / scales.min("scale_index"),
        }
    )


def summarise(ds: xr.Dataset) -> pd.DataFrame:
    """One row per grid cell (ISR or config): mean and sample std over seeds
    (NaN from a single seed) of the test error (percent), the learned σ_basis
    and ISR, and each scale (px)."""
    import pandas as pd

    dim = grid_dim(ds)
    learned = learned_scale_parameters(ds)
    columns = {
        "test_error": 100 * ds["test_error"],
        "sigma_basis": learned["sigma_basis"],
        "learned_isr": learned["learned_isr"],
    }
    for i in ds["scale_index"].values:
        columns[f"scale_{int(i) + 1}"] = ds["scales"].sel(scale_index=i)
    table = {}
    for name, values in columns.items():
        table[(name, "mean")] = values.mean("seed").values
        table[(name, "std")] = values.std("seed", ddof=1).values
    frame = pd.DataFrame(table, index=pd.Index(ds[dim].values, name=dim))
    frame[("seeds", "count")] = ds["test_error"].count("seed").values
    return frame


def sweep_summary(ds: xr.Dataset) -> pd.DataFrame:
    """`summarise` with readable row labels: (range, isr) for a grid over data
    ranges, the model name for a models grid, the ISR otherwise."""
    import pandas as pd

    if grid_dim(ds) == "isr":
        return summarise(ds)
    if "range_lo" in ds.coords:
        parts = {f"{lo:g}-{hi:g}": summarise(part) for (lo, hi), part in by_range(ds)}
        return pd.concat(parts, names=["range"])
    configs = json.loads(ds.attrs["configs"])
    table = summarise(ds)
    table.index = pd.Index([configs[str(i)]["model"] for i in table.index], name="model")
    return table


def table_records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready rows of a table such as `sweep_summary`'s: index levels
    and columns by name ((name, stat) columns as "name_stat"), NaN as None,
    counts as ints."""
    named = any(n is not None for n in table.index.names)
    rows = []
    for row in (table.reset_index() if named else table).to_dict("records"):
        record = {}
        for key, value in row.items():
            name = "_".join(str(k) for k in key if k) if isinstance(key, tuple) else str(key)
            if isinstance(value, float) and np.isnan(value):
                value = None
            elif name.endswith("_count"):
                value = int(value)
            record[name] = value
        rows.append(record)
    return rows


def per_scale_errors(ds: xr.Dataset) -> dict:
    """The per-scale test errors of a one-run results grid, JSON-ready:
    test_error, data_scale [D], error [D] (fractions) and n [D]."""
    return {
        "test_error": float(ds["test_error"].item()),
        DATA_SCALE_DIM: ds[DATA_SCALE_DIM].values.tolist(),
        "error": ds["error"].values.reshape(-1).tolist(),
        "n": ds["n"].values.tolist(),
    }


def per_scale_report(ds: xr.Dataset) -> str:
    """`per_scale_errors` of a one-run grid as a readable table (errors in percent)."""
    errors = per_scale_errors(ds)
    lines = [
        f"test error {100 * errors['test_error']:.3f} % on the run's test split",
        f"{'data scale':>10}  {'log2':>6}  {'error %':>8}  {'n':>6}",
    ]
    for scale, error, n in zip(errors[DATA_SCALE_DIM], errors["error"], errors["n"]):
        lines.append(f"{scale:10.4f}  {np.log2(scale):6.2f}  {100 * error:8.3f}  {n:6d}")
    return "\n".join(lines)
