"""Confront the tolerance model with training (thesis §4.1.1): for each data
range of an ISR sweep, the ISR the tolerance model suggests next to the ISR
whose trained models reached the lowest mean test error. NumPy/pandas only."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from scaletol.results import CONFIG_ATTR, by_range
from tolerance.distributions import make_distribution
from tolerance.fit import DEFAULT_SIGMA_UNIT, DEFAULT_TAU, suggest


def compare_with_tolerance(
    ds: xr.Dataset,
    *,
    tau: float = DEFAULT_TAU,
    ns: int | None = None,
    sigma_unit: float | None = None,
    direction: str = "model-data",
) -> pd.DataFrame:
    """One row per data range of the sweep `ds` (errors in percent):

    suggested_isr, suggested_c_ref, suggested_sigma_basis [px] from the
    tolerance model at τ = `tau` octaves with N_S = `ns` (default: the
    sweep's); best_isr, best_error (mean over seeds) and best_error_std from
    the sweep; nearest_isr, the swept ISR closest (in log) to the suggestion,
    and nearest_error, its mean test error.
    """
    settings = json.loads(ds.attrs[CONFIG_ATTR])
    ns = int(ns if ns is not None else settings["ns"])
    sigma_unit = float(sigma_unit if sigma_unit is not None else settings.get("sigma_unit", DEFAULT_SIGMA_UNIT))
    rows = []
    for (lo, hi), grid in by_range(ds):
        dist = make_distribution(settings.get("dist", "loguniform"), lo, hi)
        advice = suggest(dist, ns, tau=tau, sigma_unit=sigma_unit, direction=direction)
        errors = 100 * grid["test_error"]
        mean = errors.mean("seed")
        best = int(mean.argmin("isr"))
        isrs = grid["isr"].values
        nearest = int(np.argmin(np.abs(np.log(isrs) - np.log(advice.isr))))
        rows.append(
            {
                "range_lo": lo,
                "range_hi": hi,
                "suggested_isr": advice.isr,
                "suggested_c_ref": advice.c_ref,
                "suggested_sigma_basis": advice.sigma_basis,
                "best_isr": float(isrs[best]),
                "best_error": float(mean[best]),
                "best_error_std": float(errors.std("seed", ddof=1)[best]),
                "nearest_isr": float(isrs[nearest]),
                "nearest_error": float(mean[nearest]),
                "seeds": int(grid["test_error"].count("seed").max()),
            }
        )
    return pd.DataFrame(rows)


def validation_report(table: pd.DataFrame, *, tau: float, source: str) -> str:
    """`compare_with_tolerance`'s table as readable lines (errors in percent)."""
    lines = [
        f"tolerance model at tau = {tau:g} octaves vs. the sweep in {source}",
        f"{'range':>12}  {'suggested ISR':>13}  {'σ_basis px':>10}  {'best ISR':>8}  "
        f"{'error %':>14}  {'nearest ISR':>11}  {'error %':>7}",
    ]
    for row in table.itertuples():
        spread = "" if np.isnan(row.best_error_std) else f" ± {row.best_error_std:4.2f}"  # one seed: none
        lines.append(
            f"{f'[{row.range_lo:.3g}, {row.range_hi:.3g}]':>12}  {row.suggested_isr:13.3f}  "
            f"{row.suggested_sigma_basis:10.3f}  {row.best_isr:8.3f}  "
            f"{f'{row.best_error:7.3f}{spread}':>14}  {row.nearest_isr:11.3f}  "
            f"{row.nearest_error:7.3f}"
        )
    return "\n".join(lines)
