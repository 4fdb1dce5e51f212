"""Scores on occupancy: MAE (points), pinball, 90% coverage, Brier and Brier skill."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES

LINES: tuple[float, ...] = (0.95, 0.97)


def with_truth(forecasts: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Join the observed occupancy and beds open at the cutoff; occupancy columns in points.

    Forecast occupancy = forecast occupied / beds open at the cutoff (held flat); actual
    occupancy = actual occupied / actual open.
    """
    keys = ["site_id", "cutoff", "horizon"]
    truth = pairs[[*keys, "beds_last", "occ", "y"]]
    extra = ["y", "beds_last", "occ", "y_last", "beds_y", "occ_last", "y_sameweekday"]
    out = forecasts.drop(columns=extra, errors="ignore").merge(truth, on=keys, how="inner")
    beds = out["beds_last"].to_numpy(dtype=float)
    out["occ_mean"] = out["mean"] / beds
    for col in QUANTILE_COLUMNS:
        out[f"occ_{col}"] = out[col] / beds
    return out


def probability_from_quantiles(row_q: np.ndarray, line: float) -> np.ndarray:
    """P(occ >= line) from a piecewise-linear CDF through the quantiles (flat tails)."""
    levels = np.asarray(QUANTILES)
    p = np.empty(len(row_q))
    for i, q in enumerate(row_q):
        p[i] = 1.0 - np.interp(line, q, levels, left=0.0, right=1.0)
    return p


def scores(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """MAE per horizon and mean, pinball, coverage and Brier per group (one row each)."""
    rows = []
    for key, g in frame.groupby(by, sort=False):
        occ = g["occ"].to_numpy()
        row: dict[str, object] = dict(
            zip(by, key if isinstance(key, tuple) else (key,), strict=True)
        )
        err = np.abs(g["occ_mean"].to_numpy() - occ) * 100
        for h in range(1, 8):
            row[f"mae_h{h}"] = err[g["horizon"].to_numpy() == h].mean()
        row["mae"] = err.mean()
        qs = g[[f"occ_{c}" for c in QUANTILE_COLUMNS]].to_numpy()
        diff = occ[:, None] - qs
        tau = np.asarray(QUANTILES)[None, :]
        row["pinball"] = (np.maximum(tau * diff, (tau - 1) * diff).mean()) * 100
        row["coverage90"] = np.mean((occ >= qs[:, 0]) & (occ <= qs[:, -1]))
        for line in LINES:
            p = g[f"p_ge_{line:g}"].to_numpy()
            row[f"brier{line:g}"] = np.mean((p - (occ >= line)) ** 2)
        row["n"] = len(g)
        rows.append(row)
    return pd.DataFrame(rows)


def add_skill(table: pd.DataFrame, reference: str = "persistence") -> pd.DataFrame:
    """Brier skill against the reference model of the same group (1 - B / B_ref)."""
    out = table.copy()
    groups = [c for c in ("winter",) if c in out.columns]
    for line in LINES:
        col = f"brier{line:g}"
        ref = out[out["model"] == reference].set_index(groups)[col] if groups else None
        if groups:
            base = out[groups[0]].map(ref)
        else:
            base = float(out.loc[out["model"] == reference, col].iloc[0])
        out[f"bss{line:g}"] = 1 - out[col] / base
    return out
