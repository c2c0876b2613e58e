"""Reading recorded per-scale test errors of trained models.

Two inputs, both giving one `ModelErrors` per trained model:

- CSV, one row per (model, data scale): columns `data_scale`, `error` (fraction
  0..1), `isr`, `ns`, and `c_ref` or `sigma_basis` [px] (with an optional
  `sigma_unit` column [px], else `sigma_unit`); optional `seed`. Rows sharing
  seed, isr, ns and c_ref/sigma_basis belong to one model, whose internal scales
  are c_ref · ISR^(i/(ns-1)), with c_ref = sigma_basis / sigma_unit.
- netCDF results files (`scaletol.results`): `error(seed, isr|config, data_scale)`
  and `scales(seed, isr|config, scale_index)` [px]; the internal data scales of
  a model are its `scales` divided by the config's `sigma_unit`.

pandas and xarray are imported only here, on use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaletol.results import CONFIG_ATTR, CONFIGS_ATTR, DATA_SCALE_DIM, GRID_DIMS, SCALE_INDEX_DIM, SEED_DIM
from tolerance.distributions import check_positive
from tolerance.fit import DEFAULT_SIGMA_UNIT
from tolerance.mixture import internal_scales


@dataclass
class ModelErrors:
    """Per-scale test errors of one trained model.

    label: identifying values (e.g. seed, isr, data range "1-8"); internal_scales: [ns] in data
    units, ascending; data_scales, errors: [m] scales and error fractions.
    """

    label: dict
    internal_scales: np.ndarray
    data_scales: np.ndarray
    errors: np.ndarray = field(repr=False)


def read_errors(path: str | os.PathLike, sigma_unit: float = DEFAULT_SIGMA_UNIT) -> list[ModelErrors]:
    """Models' per-scale errors from a CSV file or a `.nc` results file.

    sigma_unit [px]: used for CSV rows without a `sigma_unit` column; netCDF
    files carry their own in the config attribute.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "No such file", path)
    if path.endswith(".nc"):
        return read_errors_netcdf(path)
    return read_errors_csv(path, sigma_unit)


def _checked_column(frame, name, path, *, positive=False, low=None, high=None, integer=False):
    """Column `name` as a float array; ValueError naming the first bad row and value."""
    import pandas as pd

    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values)
        if positive:
            bad |= values <= 0
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
        if integer:
            bad |= values != np.round(values)
    wanted = "an integer" if integer else "a finite number"
    if low is not None and high is not None:
        wanted += f" in [{low:g}, {high:g}]"
    elif low is not None:
        wanted += f" >= {low:g}"
    elif positive:
        wanted += " > 0"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path} row {row + 2}: column {name!r} must be {wanted}, got {frame[name].iloc[row]!r}")
    return values


def read_errors_csv(path: str | os.PathLike, sigma_unit: float = DEFAULT_SIGMA_UNIT) -> list[ModelErrors]:
    """Models from a CSV file (see the module docstring for its columns)."""
    import pandas as pd

    path = os.fspath(path)
    sigma_unit = check_positive("sigma_unit [px]", sigma_unit)
    try:
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from None
    if frame.empty:
        raise ValueError(f"{path} holds no rows")
    needed = ["data_scale", "error", "isr", "ns"]
    missing = [name for name in needed if name not in frame.columns]
    if "c_ref" not in frame.columns and "sigma_basis" not in frame.columns:
        missing.append("c_ref or sigma_basis")
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(frame.columns)})")
    table = pd.DataFrame(
        {
            "data_scale": _checked_column(frame, "data_scale", path, positive=True),
            "error": _checked_column(frame, "error", path, low=0, high=1),
            "isr": _checked_column(frame, "isr", path, low=1),
            "ns": _checked_column(frame, "ns", path, low=1, integer=True),
        }
    )
    if "c_ref" in frame.columns:
        table["c_ref"] = _checked_column(frame, "c_ref", path, positive=True)
    else:
        units = (
            _checked_column(frame, "sigma_unit", path, positive=True) if "sigma_unit" in frame.columns else sigma_unit
        )
        table["c_ref"] = _checked_column(frame, "sigma_basis", path, positive=True) / units
    keys = ["isr", "ns", "c_ref"]
    if "seed" in frame.columns:
        table["seed"] = _checked_column(frame, "seed", path, integer=True)
        keys = ["seed"] + keys
    models = []
    for key, rows in table.groupby(keys, sort=True):
        label = dict(zip(keys, key))
        label = {k: (int(v) if k in ("seed", "ns") else float(v)) for k, v in label.items()}
        rows = rows.sort_values("data_scale")
        models.append(
            ModelErrors(
                label=label,
                internal_scales=internal_scales(label["c_ref"], label["isr"], label["ns"]),
                data_scales=rows["data_scale"].to_numpy(),
                errors=rows["error"].to_numpy(),
            )
        )
    return models


def _json_attr(dataset, name: str, path: str) -> dict:
    try:
        return json.loads(dataset.attrs.get(name, "{}"))
    except json.JSONDecodeError:
        raise ValueError(f"{path}: attribute {name!r} is not JSON") from None


def read_errors_netcdf(path: str | os.PathLike) -> list[ModelErrors]:
    """Models from a results file written by training (see `scaletol.results`).

    Internal scales stored as NaN (beyond a model's N_S) are dropped; runs
    without internal scales (plain CNNs) or without any recorded error (cells
    missing from a merged grid) are skipped. sigma_unit comes from a config
    run's own settings (attribute `configs`) or else from `config` (default
    DEFAULT_SIGMA_UNIT).
    """
    import xarray as xr

    path = os.fspath(path)
    try:
        dataset = xr.open_dataset(path, engine="scipy")
    except Exception as exc:  # scipy/xarray raise many types for malformed files
        raise ValueError(f"{path} is not a readable netCDF results file: {exc}") from None
    with dataset:
        for name in ("error", "scales"):
            if name not in dataset:
                raise ValueError(f"{path}: missing variable {name!r}")
        model_dims = [d for d in GRID_DIMS if d in dataset["error"].dims]
        if len(model_dims) != 1 or DATA_SCALE_DIM not in dataset["error"].dims:
            raise ValueError(
                f"{path}: error must have dims (seed, isr or config, data_scale), got {dataset['error'].dims}"
            )
        model_dim = model_dims[0]
        shared = _json_attr(dataset, CONFIG_ATTR, path)
        per_run = _json_attr(dataset, CONFIGS_ATTR, path)
        error = dataset["error"].transpose(SEED_DIM, model_dim, DATA_SCALE_DIM)
        scales = dataset["scales"].transpose(SEED_DIM, model_dim, SCALE_INDEX_DIM)
        data_scales = dataset[DATA_SCALE_DIM].to_numpy().astype(float)
        models = []
        for seed in dataset[SEED_DIM].to_numpy():
            for model in dataset[model_dim].to_numpy():
                label: dict[str, Any] = {
                    "seed": int(seed),
                    model_dim: float(model) if model_dim == "isr" else int(model),
                }
                errors = error.sel({SEED_DIM: seed, model_dim: model}).to_numpy().astype(float)
                px = scales.sel({SEED_DIM: seed, model_dim: model}).to_numpy().astype(float)
                px = np.sort(px[np.isfinite(px)])
                known = np.isfinite(errors)
                if px.size == 0 or not known.any():
                    continue
                if np.any(px <= 0):
                    raise ValueError(f"{path}: internal scales of {label} must be > 0 px, got {px.tolist()}")
                settings = per_run.get(str(label[model_dim]), shared) if model_dim == "config" else shared
                if settings.get("dataset", "dynamic-mnist") == "dynamic-mnist" and "range" in settings:
                    label["range"] = "{:.3g}-{:.3g}".format(*settings["range"])
                sigma_unit = check_positive(
                    f"{path}: sigma_unit [px] of {label}", settings.get("sigma_unit", DEFAULT_SIGMA_UNIT)
                )
                models.append(
                    ModelErrors(
                        label=label,
                        internal_scales=px / sigma_unit,
                        data_scales=data_scales[known],
                        errors=errors[known],
                    )
                )
    if not models:
        raise ValueError(f"{path} holds no models with internal scales and recorded errors")
    return models
