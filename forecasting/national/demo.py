"""Synthetic national inputs (no real data): for tests, the benchmark and a look at the page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.escalation.levels import LEVEL_NAMES


def _level(occupancy: float) -> int:
    """A stand-in level rule for synthetic data (not the product's scoring)."""
    return 1 + int(occupancy >= 0.92) + int(occupancy >= 0.95) + int(occupancy >= 0.98)


def synthetic_inputs(
    trusts: int = 150,
    as_of: str | pd.Timestamp = "2026-01-12",
    history_days: int = 42,
    horizon: int = 7,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Warnings, history and yesterday's levels shaped like the national page's inputs.

    Args:
        trusts: Number of trusts (ids ``T001``…).
        as_of: Last observed day.
        history_days: Observed days per trust (about 3% missing at random).
        horizon: Forecast days per trust.
        seed: Random seed.

    Returns:
        ``(warnings, history, previous_levels)``; about a fifth of the trusts have a different
        level yesterday and one trust is missing from yesterday's levels.
    """
    rng = np.random.default_rng(seed)
    day = pd.Timestamp(as_of).normalize()
    past = pd.date_range(end=day, periods=history_days, freq="D")
    future = pd.date_range(day + pd.Timedelta(days=1), periods=horizon, freq="D")
    hist_rows, warn_rows, previous = [], [], {}
    for i in range(trusts):
        site = f"T{i + 1:03d}"
        base = rng.uniform(0.86, 0.99)
        walk = base + np.cumsum(rng.normal(0, 0.006, history_days + horizon))
        weekly = 0.012 * np.sin(2 * np.pi * np.arange(history_days + horizon) / 7)
        path = np.clip(walk + weekly, 0.5, 1.15)
        observed = path[:history_days].copy()
        observed[rng.random(history_days) < 0.03] = np.nan
        hist_rows.append(pd.DataFrame({"site_id": site, "date": past, "occupancy": observed}))
        mean = path[history_days:]
        spread = 0.01 + 0.004 * np.arange(1, horizon + 1)
        levels = [_level(m) for m in mean]
        warn_rows.append(
            pd.DataFrame(
                {
                    "site_id": site,
                    "site_name": f"Synthetic Hospitals NHS Trust {i + 1}",
                    "as_of": day,
                    "date": future,
                    "horizon": np.arange(1, horizon + 1),
                    "level": levels,
                    "level_name": [LEVEL_NAMES[lv] for lv in levels],
                    "occupancy": mean,
                    "occupancy_q0.05": mean - 1.645 * spread,
                    "occupancy_q0.95": mean + 1.645 * spread,
                    "p_occupancy_ge_0.92": np.clip((mean - 0.88) / 0.08, 0, 1),
                    "p_occupancy_ge_0.97": np.clip((mean - 0.93) / 0.08, 0, 1),
                    "opel_score": [2.0 * lv for lv in levels],
                    "reasons": [[f"forecast occupancy {100 * m:.1f}%"] for m in mean],
                }
            )
        )
        if i != 0:
            headline = max(levels)
            moved = rng.random() < 0.2
            previous[site] = max(1, min(4, headline + (rng.choice([-1, 1]) if moved else 0)))
    warnings = pd.concat(warn_rows, ignore_index=True)
    history = pd.concat(hist_rows, ignore_index=True)
    return warnings, history, pd.Series(previous, name="level", dtype=int)
