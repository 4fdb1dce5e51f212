"""Honest planned-care advice from an occupancy forecast.

For each trust and day ahead: how many deferrable elective admissions must be deferred to bring
P(occupancy >= ceiling) down to a target probability (default P(>= 92%) <= 0.2).

Assumptions, stated so that the figures can be checked:
- The forecast of beds occupied includes the planned (elective) patients; deferring one removes
  that patient's stay from the forecast.
- A deferred admission frees a bed today and on the following days along a geometric stay
  kernel of mean ``mean_los_elective`` (``forecasting.escalation.occupancy.los_kernel``: 1 bed
  today, then ``(1 - 1/L)^k`` beds k days later): deferrals on earlier days of the horizon also
  lower later days. Freeing beds shifts the whole forecast distribution down by that many beds.
- Only deferrable cases are counted (the caller removes protected ones: cancer, clinically
  urgent; see :func:`deferrable_cases`); deferral is never advised beyond them.

When deferring every deferrable case still leaves P above the target, the advice says so with
the resulting forecast occupancy (median), instead of promising to keep occupancy below the
ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from forecasting.data.schema import DATE, SITE
from forecasting.escalation.occupancy import los_kernel
from forecasting.escalation.wording import format_occupancy
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.pressure.probability import BEDS_OPEN, exceedance

DEFERRABLE = "deferrable"
ADVICE_COLUMNS = (
    "p_ceiling_before",
    "defer",
    "p_ceiling_after",
    "occupancy_after",
    "enough",
    "beds_freed",
    "advice",
)
_MEDIAN = "q0.5"


def deferrable_cases(planned: np.ndarray | pd.Series, deferrable_share: float) -> np.ndarray:
    """Deferrable elective admissions: the planned list times the deferrable share, rounded down.

    ``deferrable_share`` is ``ElectivesConfig.deferrable_share`` (protected categories out).
    Missing planned counts give 0.
    """
    p = np.nan_to_num(np.asarray(planned, dtype=float), nan=0.0)
    return np.floor(np.maximum(p, 0.0) * deferrable_share + 1e-9).astype(int)


def plan_deferrals(
    frame: pd.DataFrame,
    *,
    ceiling: float = 0.92,
    target_probability: float = 0.2,
    mean_los_elective: float = 3.0,
) -> pd.DataFrame:
    """Deferrals that bring P(occupancy >= ceiling) to the target, per trust and day.

    Args:
        frame: One row per site and target day: ``site_id``, ``date``, the beds-occupied
            quantiles ``q0.05 ... q0.95``, ``beds_open`` and ``deferrable`` (deferrable
            elective admissions that day; see :func:`deferrable_cases`).
        ceiling: The occupancy ceiling (``PressureConfig.advice_ceiling``).
        target_probability: Target P(occupancy >= ceiling)
            (``PressureConfig.advice_target_probability``).
        mean_los_elective: Mean stay of an elective admission, days.

    Returns:
        A copy sorted by site and date with ``p_ceiling_before`` (no deferral), ``defer``
        (cases to defer that day), ``p_ceiling_after`` (after this and earlier days'
        deferrals), ``occupancy_after`` (median forecast occupancy after them), ``enough``
        (P reaches the target), ``beds_freed`` (beds freed that day by deferrals up to it)
        and ``advice`` (one sentence).
    """
    kernel = los_kernel(mean_los_elective)
    out = frame.sort_values([SITE, DATE]).reset_index(drop=True)
    knots = out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    beds = out[BEDS_OPEN].to_numpy(dtype=float)
    deferrable = np.maximum(np.nan_to_num(out[DEFERRABLE].to_numpy(dtype=float), nan=0.0), 0)
    deferrable = deferrable.astype(int)
    days = pd.to_datetime(out[DATE]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    n = len(out)
    p_before, p_after = np.full(n, np.nan), np.full(n, np.nan)
    occ_after, defer = np.full(n, np.nan), np.zeros(n, dtype=int)
    enough = np.zeros(n, dtype=bool)
    freed = np.zeros(n)
    valid = np.isfinite(beds) & (beds > 0) & np.isfinite(knots).all(axis=1)
    line = ceiling * beds
    p_before[valid] = exceedance(knots[valid], line[valid])
    # all sites at once, one day position at a time: deferrals of earlier days free beds later
    site = pd.factorize(out[SITE])[0]
    pos = out.groupby(SITE, sort=False).cumcount().to_numpy()
    grid = np.full((site.max() + 1 if n else 0, pos.max() + 1 if n else 0), -1)
    grid[site, pos] = np.arange(n)
    for k in range(grid.shape[1]):
        idx = grid[:, k][grid[:, k] >= 0]
        idx = idx[valid[idx]]
        if len(idx) == 0:
            continue
        # P after deferring 0, 1, ..., all deferrable cases today: the fewest that reach the
        # target, else all of them
        counts = np.arange(deferrable[idx].max() + 1)
        x = (line[idx] + freed[idx])[:, None] + counts[None, :] * kernel[0]
        p = exceedance(np.repeat(knots[idx], len(counts), axis=0), x.ravel())
        p = p.reshape(len(idx), len(counts))
        allowed = counts[None, :] <= deferrable[idx][:, None]
        ok = (p <= target_probability) & allowed
        d = np.where(ok.any(axis=1), ok.argmax(axis=1), deferrable[idx])
        defer[idx] = d
        p_after[idx] = p[np.arange(len(idx)), d]
        enough[idx] = ok.any(axis=1)
        for later in range(k, grid.shape[1]):
            j = grid[site[idx], later]
            has = j >= 0
            offset = np.where(has, days[np.where(has, j, 0)] - days[idx], len(kernel))
            hit = has & (offset >= 0) & (offset < len(kernel))
            freed[j[hit]] += d[hit] * kernel[offset[hit]]
        median = knots[idx, QUANTILE_COLUMNS.index(_MEDIAN)]
        occ_after[idx] = (median - freed[idx]) / beds[idx]
    out["p_ceiling_before"] = p_before
    out["defer"] = defer
    out["p_ceiling_after"] = p_after
    out["occupancy_after"] = occ_after
    out["enough"] = enough
    out["beds_freed"] = np.where(np.isfinite(p_after), freed, np.nan)
    records = out[["p_ceiling_before", *ADVICE_COLUMNS[1:-1]]].to_dict("records")
    out["advice"] = [
        _advice(rec, deferrable[i], ceiling, target_probability) for i, rec in enumerate(records)
    ]
    return out


def _advice(row: Mapping[Any, Any], deferrable: int, ceiling: float, target: float) -> str:
    if not np.isfinite(row["p_ceiling_after"]):
        return "no occupancy forecast (beds open or forecast missing)"
    line = format_occupancy(ceiling, (ceiling,))
    occ = format_occupancy(float(row["occupancy_after"]), (ceiling,))
    p_txt = f"P(occupancy >= {line}) = {row['p_ceiling_after']:.2f}, target {target:g}"
    d = int(row["defer"])
    if row["enough"] and d == 0:
        earlier = row["beds_freed"] > 0
        why = " after earlier days' deferrals" if earlier else ""
        return f"no deferral needed{why}: forecast occupancy {occ}; {p_txt}"
    if row["enough"]:
        return (
            f"review {d} of {deferrable} deferrable elective admission"
            f"{'s' if deferrable != 1 else ''} for deferral: forecast occupancy {occ}; "
            f"P(occupancy >= {line}) falls from "
            f"{row['p_ceiling_before']:.2f} to {row['p_ceiling_after']:.2f} (target {target:g})"
        )
    if deferrable == 0:
        return (
            f"no deferrable elective admissions: occupancy stays at {occ} (ceiling {line}); {p_txt}"
        )
    return (
        f"deferring all {deferrable} deferrable case{'s' if deferrable != 1 else ''} still leaves"
        f" occupancy at {occ} (ceiling {line}) and P(occupancy >= {line}) at "
        f"{row['p_ceiling_after']:.2f} (target {target:g})"
    )
