"""OPEL-style scoring of bed pressure from several parameters.

Shape of NHS England's integrated OPEL framework (2024-26): each parameter of a table is put in
a band 1-4 by three ascending cut points (band ``b`` once the value reaches the ``b-1``-th cut
point), scores ``weight * (band - 1)`` points, and the total score maps to a level 1-4 by three
ascending score cut points (level ``l`` once the score reaches the ``l-1``-th cut point).

Missing parameters. A parameter whose value is missing on a trust-day (its column absent, or
empty that day: no attendances data, handovers not reported) is skipped, and the score is
rescaled to the available weight: ``score = points * total_weight / available_weight``, so the
score stays on the scale of the whole table and the level cut points keep their meaning. The
skipped parameters are named in ``missing_parameters``. Rescaling assumes the missing parameter
would have scored like the others: on the sitreps, winters without handover data (2015-17) get
more level-4 days than later winters for that reason.

Default table (``PressureConfig.parameters``; tuned on the English winter sitreps 2015-21, see
``experiments/bed_pressure/opel_defaults.py``), score cut points 2, 7, 13 of 18:

=====================  ===================================  ==================  ======
parameter              source column                        band 2 / 3 / 4 at   weight
=====================  ===================================  ==================  ======
occupancy              occupancy (forecast that day)        92% / 95% / 98%     2
occupancy_ge_97        p_occupancy_ge_0.97                  0.25 / 0.5 / 0.75   1
handovers_over_60min   handovers_over_60min_per_100_beds    0.3 / 1.0 / 2.0     1
attendance_surge       p_surge                              0.2 / 0.5 / 0.8     1
own_normal             p_above_own_normal                   0.25 / 0.5 / 0.75   1
=====================  ===================================  ==================  ======

On the sitreps (observed occupancy standing in for the forecast) they put about 35% of
trust-days at level 1, 31% at level 2, 24% at level 3 and 10% at level 4. They are a starting
point that each trust sets locally, with its own escalation policy.

Handovers are scored per 100 open beds, not relative to the trust's own history: a delay of over
an hour harms the patient waiting in the ambulance whatever the trust's usual record, and a
rate per bed compares trusts of different size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecasting.config import OpelParameter
from forecasting.data.schema import DATE, SITE

HANDOVERS = "ambulance_handover_over_60min"
HANDOVER_RATE = "handovers_over_60min_per_100_beds"
OPEL_COLUMNS = ("opel_score", "opel_level", "parameters", "reasons", "missing_parameters")


def handover_rate(
    history: pd.DataFrame, as_of: pd.Timestamp | None = None, window_days: int = 7
) -> pd.Series:
    """Recent ambulance handovers over 60 minutes per 100 open beds, per site.

    The mean daily count over the site's last ``window_days`` calendar days up to ``as_of``
    (reported days only), per 100 beds open (mean over the same days).

    Args:
        history: DemandFrame with ``ambulance_handover_over_60min`` and ``beds``.
        as_of: Last day counted (``None``: each site's last day).
        window_days: Length of the recent window.

    Returns:
        Series indexed by ``site_id`` (str), NaN where nothing was reported in the window;
        empty if the history has no handover or beds column.
    """
    if HANDOVERS not in history or "beds" not in history:
        return pd.Series(dtype=float, name=HANDOVER_RATE)
    frame = history[[SITE, DATE, HANDOVERS, "beds"]].copy()
    frame[SITE] = frame[SITE].astype(str)
    frame[DATE] = pd.to_datetime(frame[DATE])
    if as_of is not None:
        frame = frame[frame[DATE] <= pd.Timestamp(as_of)]
    last = frame.groupby(SITE)[DATE].transform("max")
    recent = frame[frame[DATE] > last - pd.Timedelta(days=window_days)]
    recent = recent.dropna(subset=[HANDOVERS, "beds"])
    recent = recent[recent["beds"] > 0]
    sums = recent.groupby(SITE)[[HANDOVERS, "beds"]].mean()
    rate = 100.0 * sums[HANDOVERS] / sums["beds"]
    sites = pd.Index(sorted(frame[SITE].unique()), name=SITE)
    return rate.reindex(sites).rename(HANDOVER_RATE)


def bands(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Band 1-4 of each value (NaN where the value is missing)."""
    v = np.asarray(values, dtype=float)
    band = 1.0 + (v[:, None] >= np.asarray(thresholds, dtype=float)[None, :]).sum(axis=1)
    return np.where(np.isnan(v), np.nan, band)


def score_arrays(
    frame: pd.DataFrame,
    parameters: Mapping[str, OpelParameter],
    level_cuts: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Vectorised scoring: (score, level, values, points) with NaN where nothing is available.

    ``values`` and ``points`` map each parameter name to an array (NaN when missing).
    """
    n = len(frame)
    total_weight = float(sum(p.weight for p in parameters.values()))
    points_sum = np.zeros(n)
    available = np.zeros(n)
    values: dict[str, np.ndarray] = {}
    points: dict[str, np.ndarray] = {}
    for name, param in parameters.items():
        if param.source in frame:
            v = pd.to_numeric(frame[param.source], errors="coerce").to_numpy(dtype=float)
        else:
            v = np.full(n, np.nan)
        pts = param.weight * (bands(v, param.thresholds) - 1.0)
        values[name], points[name] = v, pts
        present = ~np.isnan(v)
        points_sum += np.where(present, pts, 0.0)
        available += np.where(present, param.weight, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(available > 0, points_sum * total_weight / available, np.nan)
    level = bands(score, level_cuts)
    return score, level, values, points


def score_opel(
    frame: pd.DataFrame,
    parameters: Mapping[str, OpelParameter],
    level_cuts: Sequence[float],
) -> pd.DataFrame:
    """Score each trust-day of ``frame`` (one row per site and day, columns named by sources).

    Args:
        frame: Per trust-day values; each parameter reads its ``source`` column.
        parameters: The scoring table (``PressureConfig.parameters``).
        level_cuts: Score cut points of levels 2, 3 and 4 (``PressureConfig.level_cuts``).

    Returns:
        A copy of ``frame`` with ``opel_score`` (float, rounded to 0.01), ``opel_level``
        (Int64, NA when no parameter is available), ``parameters`` (dict name ->
        ``{"value", "band", "points"}`` of the available parameters), ``reasons`` (list of
        text, the parameters scoring points, highest first: they set the level; parameters
        empty that day are named as not scored) and ``missing_parameters`` (list of names
        skipped that day, including those the frame has no column for).
    """
    score, level, values, points = score_arrays(frame, parameters, level_cuts)
    # parameters the data have no column for: named in missing_parameters, not in every reason
    absent = {name for name, p in parameters.items() if p.source not in frame}
    detail: list[dict[str, dict[str, float | int]]] = []
    reasons: list[list[str]] = []
    missing: list[list[str]] = []
    for i in range(len(frame)):
        row: dict[str, dict[str, float | int]] = {}
        gone: list[str] = []
        for name, param in parameters.items():
            v = values[name][i]
            if np.isnan(v):
                gone.append(name)
                continue
            band = round(float(points[name][i]) / param.weight) + 1
            row[name] = {"value": float(v), "band": band, "points": float(points[name][i])}
        detail.append(row)
        missing.append(gone)
        reasons.append(_reasons(row, parameters, [g for g in gone if g not in absent]))
    out = frame.copy()
    out["opel_score"] = np.round(score, 2)
    out["opel_level"] = pd.array([pd.NA if np.isnan(x) else int(x) for x in level], dtype="Int64")
    out["parameters"] = pd.Series(detail, index=out.index, dtype=object)
    out["reasons"] = pd.Series(reasons, index=out.index, dtype=object)
    out["missing_parameters"] = pd.Series(missing, index=out.index, dtype=object)
    return out


def _reasons(
    row: Mapping[str, Mapping[str, Any]],
    parameters: Mapping[str, OpelParameter],
    missing: Sequence[str],
) -> list[str]:
    if not row:
        return ["no parameter available"]
    scoring = sorted(
        (name for name in row if row[name]["points"] > 0),
        key=lambda name: (-row[name]["points"], list(parameters).index(name)),
    )
    out = [
        f"{name} {_shown(parameters[name].source, row[name]['value'])} "
        f"(band {row[name]['band']}, {row[name]['points']:g} points)"
        for name in scoring
    ]
    if not out:
        out = ["every parameter in band 1"]
    if missing:
        out.append(f"not scored (no data): {', '.join(missing)}")
    return out


def _shown(source: str, value: float) -> str:
    if source.startswith("p_"):
        return f"P={value:.2f}"
    if source.startswith("occupancy"):
        return f"{100 * value:.1f}%"
    return f"{value:.3g}"
