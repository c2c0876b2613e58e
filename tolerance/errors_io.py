"""Reading recorded per-scale test errors of trained models.

Two inputs, both giving one `ModelErrors` per trained model:

- CSV (read by `scaletol.tables`), one row per (model, data scale), columns:
  - `data_scale`: the magnification factor the model was tested at;
  - exactly one of `error` (fraction 0..1), `error_pct` (percent 0..100, as
    papers report it) or `accuracy` (fraction 0..1; error = 1 - accuracy);
  - `isr`, `ns`, and `c_ref` or `sigma_basis` [px] (then c_ref =
    sigma_basis / sigma_unit, from an optional `sigma_unit` column [px] or the
    `sigma_unit` argument): the model's internal scales c_ref · ISR^(i/(ns-1));
  - optional `model` (any text): the run each row belongs to. Without it, rows
    sharing `seed` (optional), isr, ns and c_ref are one model;
  - optional `n`: test samples behind each error, which weights the point by
    its binomial variance (tolerance.errors_fit).
- netCDF results of `sesn` (scaletol.results): `error(seed, isr|config,
  data_scale)`, `n(data_scale)` and `scales(seed, isr|config, scale_index)`
  [px]; a model's internal data scales are its `scales` divided by the run's
  `sigma_unit`.

Limits: at most MAX_MODELS models; every number within the valid ranges of
tolerance.fit and tolerance.distributions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaletol.checks import InputError, check_positive
from scaletol.results import CONFIG_ATTR, CONFIGS_ATTR, DATA_SCALE_DIM, GRID_DIMS, SCALE_INDEX_DIM, SEED_DIM
from scaletol.tables import read_table
from tolerance.distributions import SCALE_LIMITS
from tolerance.fit import DEFAULT_SIGMA_UNIT, MAX_ISR, MAX_SIGMA_UNIT
from tolerance.mixture import MAX_NS, internal_scales

ERROR_COLUMNS = {"error": 1.0, "error_pct": 100.0, "accuracy": 1.0}  # column -> its full scale
MAX_MODELS = 1000
MAX_SAMPLES = 10**9  # per point, column `n`


@dataclass
class ModelErrors:
    """Per-scale test errors of one trained model.

    label: identifying values (e.g. model name, seed, isr, data range "1-8");
    internal_scales: [ns] in data units, ascending; data_scales, errors: [m]
    scales and error fractions; n: [m] test samples per point, or None;
    sigma_unit: px per data-scale unit (internal scales in px = sigma_unit ·
    internal_scales).
    """

    label: dict
    internal_scales: np.ndarray
    data_scales: np.ndarray
    errors: np.ndarray = field(repr=False)
    n: np.ndarray | None = field(default=None, repr=False)
    sigma_unit: float = DEFAULT_SIGMA_UNIT


def read_errors(path: str | os.PathLike, sigma_unit: float = DEFAULT_SIGMA_UNIT) -> list[ModelErrors]:
    """Models' per-scale errors from a CSV file or a `.nc` results file.

    sigma_unit [px]: used for CSV rows without a `sigma_unit` column; netCDF
    files carry their own in the run settings.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    if path.endswith(".nc"):
        return read_errors_netcdf(path)
    return read_errors_csv(path, sigma_unit)


def read_errors_csv(path: str | os.PathLike, sigma_unit: float = DEFAULT_SIGMA_UNIT) -> list[ModelErrors]:
    """Models from a CSV file (see the module docstring for its columns)."""
    sigma_unit = check_positive("sigma_unit", sigma_unit, high=MAX_SIGMA_UNIT)
    table = read_table(path)
    if not table.rows:
        raise InputError(f"{table.path} holds no rows")
    given = [name for name in ERROR_COLUMNS if name in table.columns]
    if len(given) != 1:
        raise InputError(
            f"{table.path}: needs exactly one of the columns {', '.join(ERROR_COLUMNS)} "
            f"(found: {', '.join(given) or 'none'})"
        )
    missing = [name for name in ("data_scale", "isr", "ns") if name not in table.columns]
    if "c_ref" not in table.columns and "sigma_basis" not in table.columns:
        missing.append("c_ref or sigma_basis")
    if missing:
        raise InputError(f"{table.path}: missing column(s) {', '.join(missing)} (found: {', '.join(table.columns)})")
    scale_low, scale_high = SCALE_LIMITS
    (error_column,) = given
    full_scale = ERROR_COLUMNS[error_column]
    values = table.numbers(error_column, low=0.0, high=full_scale) / full_scale
    columns = {
        "data_scale": table.numbers("data_scale", low=scale_low, high=scale_high),
        "error": 1.0 - values if error_column == "accuracy" else values,
        "isr": table.numbers("isr", low=1.0, high=MAX_ISR),
        "ns": table.numbers("ns", integer=True, low=1, high=MAX_NS),
    }
    if "c_ref" in table.columns:
        columns["c_ref"] = table.numbers("c_ref", low=scale_low, high=scale_high)
    else:
        units = (
            table.numbers("sigma_unit", low=0.0, low_open=True, high=MAX_SIGMA_UNIT)
            if "sigma_unit" in table.columns
            else np.full(len(table.rows), sigma_unit)
        )
        columns["c_ref"] = (
            table.numbers("sigma_basis", low=0.0, low_open=True, high=MAX_SIGMA_UNIT * SCALE_LIMITS[1]) / units
        )
        columns["sigma_unit"] = units
    columns.setdefault("sigma_unit", np.full(len(table.rows), sigma_unit))
    if "n" in table.columns:
        columns["n"] = table.numbers("n", integer=True, low=1, high=MAX_SAMPLES)
    lines = [line for line, _ in table.rows]
    if "model" in table.columns:
        names = [text for _, text in table.texts("model")]
        groups = _group_by_name(table.path, names, lines, columns)
    else:
        keys = ["seed", "isr", "ns", "c_ref"] if "seed" in table.columns else ["isr", "ns", "c_ref"]
        if "seed" in table.columns:
            columns["seed"] = table.numbers("seed", integer=True, low=0)
        groups = {}
        for row, key in enumerate(zip(*(columns[k] for k in keys))):
            groups.setdefault(key, []).append(row)
        groups = {
            tuple((k, int(v) if k in ("seed", "ns") else float(v)) for k, v in zip(keys, key)): rows
            for key, rows in sorted(groups.items())
        }
    if len(groups) > MAX_MODELS:
        raise InputError(f"{table.path} holds {len(groups)} models; at most {MAX_MODELS} are fitted at once")
    models = []
    for label, rows in groups.items():
        rows = np.array(rows)[np.argsort(columns["data_scale"][rows], kind="stable")]
        first = rows[0]
        models.append(
            ModelErrors(
                label=dict(label),
                internal_scales=internal_scales(
                    columns["c_ref"][first], columns["isr"][first], int(columns["ns"][first])
                ),
                data_scales=columns["data_scale"][rows],
                errors=columns["error"][rows],
                n=columns["n"][rows] if "n" in columns else None,
                sigma_unit=float(columns["sigma_unit"][first]),
            )
        )
    return models


def _group_by_name(path, names, lines, columns) -> dict:
    """Rows per `model` name, in order of appearance; a model's isr, ns and c_ref must agree on all its rows."""
    groups: dict = {}
    for row, name in enumerate(names):
        if not name:
            raise InputError(f"{path} line {lines[row]}: model='' must be a name")
        groups.setdefault((("model", name),), []).append(row)
    for ((_, name),), rows in groups.items():
        for key in ("isr", "ns", "c_ref"):
            values = columns[key][rows]
            if np.any(values != values[0]):
                other = rows[int(np.flatnonzero(values != values[0])[0])]
                raise InputError(
                    f"{path} line {lines[other]}: model {name!r} has {key}={columns[key][other]:g} "
                    f"but {key}={values[0]:g} on line {lines[rows[0]]}; one model has one set of internal scales"
                )
    return groups


def _json_attr(dataset, name: str, path: str) -> dict:
    try:
        return json.loads(dataset.attrs.get(name, "{}"))
    except json.JSONDecodeError:
        raise InputError(f"{path}: attribute {name!r} is not JSON") from None


def range_label(settings: dict) -> str | None:
    """'lo-hi' of a Dynamic Scale MNIST run's data range (3 significant digits), else None."""
    if settings.get("dataset", "dynamic-mnist") != "dynamic-mnist" or "range" not in settings:
        return None
    return "{:.3g}-{:.3g}".format(*settings["range"])


def read_errors_netcdf(path: str | os.PathLike) -> list[ModelErrors]:
    """Models from a results file written by training (see `scaletol.results`).

    Internal scales stored as NaN (beyond a model's N_S) are dropped; runs
    without internal scales (plain CNNs) or without any recorded error (cells
    missing from a merged grid) are skipped. sigma_unit comes from a config
    run's own settings (attribute `configs`) or else from `config` (default
    DEFAULT_SIGMA_UNIT); `n(data_scale)`, when present, weights the points.
    """
    import xarray as xr

    path = os.fspath(path)
    try:
        dataset = xr.open_dataset(path, engine="scipy")
    except Exception as exc:  # scipy/xarray raise many types for malformed files
        raise InputError(f"{path} is not a readable netCDF results file: {exc}") from None
    with dataset:
        for name in ("error", "scales"):
            if name not in dataset:
                raise InputError(f"{path}: missing variable {name!r}")
        model_dims = [d for d in GRID_DIMS if d in dataset["error"].dims]
        if len(model_dims) != 1 or DATA_SCALE_DIM not in dataset["error"].dims:
            raise InputError(
                f"{path}: error must have dims (seed, isr or config, data_scale), got {dataset['error'].dims}"
            )
        model_dim = model_dims[0]
        shared = _json_attr(dataset, CONFIG_ATTR, path)
        per_run = _json_attr(dataset, CONFIGS_ATTR, path)
        error = dataset["error"].transpose(SEED_DIM, model_dim, DATA_SCALE_DIM)
        scales = dataset["scales"].transpose(SEED_DIM, model_dim, SCALE_INDEX_DIM)
        data_scales = dataset[DATA_SCALE_DIM].to_numpy().astype(float)
        counts = dataset["n"].to_numpy().astype(float) if "n" in dataset else None
        if counts is not None and (counts.shape != data_scales.shape or not np.all(counts >= 1)):
            raise InputError(f"{path}: n must hold a count >= 1 per data scale")
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
                    raise InputError(f"{path}: internal scales of {label} must be > 0 px, got {px.tolist()}")
                settings = per_run.get(str(label[model_dim]), shared) if model_dim == "config" else shared
                if range_label(settings) is not None:
                    label["range"] = range_label(settings)
                sigma_unit = check_positive(
                    f"{path}: sigma_unit [px] of {label}",
                    settings.get("sigma_unit", DEFAULT_SIGMA_UNIT),
                    high=MAX_SIGMA_UNIT,
                )
                models.append(
                    ModelErrors(
                        label=label,
                        internal_scales=px / sigma_unit,
                        data_scales=data_scales[known],
                        errors=errors[known],
                        n=None if counts is None else counts[known],
                        sigma_unit=sigma_unit,
                    )
                )
    if not models:
        raise InputError(f"{path} holds no models with internal scales and recorded errors")
    return models
