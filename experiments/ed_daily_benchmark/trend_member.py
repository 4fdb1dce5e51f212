"""A Prophet-like member tried for issue 14: trend + calendar regression on log counts.

Per site and cutoff (refit every window, it is a closed-form ridge fit): ``log1p(y)`` on a
piecewise-linear trend with 25 changepoints over the first 80% of the last 1,100 days (ridge
penalty on the slope changes), weekday dummies, 10 annual Fourier pairs and the dataset's
holidays; quantiles from the last year's in-sample residuals. Writes
``<out>/<dataset>_trend.csv.gz`` for ``offline_ideas.py --trend <out>``:

    python experiments/ed_daily_benchmark/trend_member.py [DATA_DIR] [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import load  # noqa: E402
from ours import HOLIDAYS  # noqa: E402

from forecasting.evaluate.backtest import cutoffs_for  # noqa: E402
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES  # noqa: E402
from forecasting.models.regressors import calendar_regressors  # noqa: E402


def design(dates, t0, changepoints, country, subdiv):
    cal = calendar_regressors(dates, fourier_k=10, country=country, subdiv=subdiv)
    t = (dates - t0).days.to_numpy(float) / 365.25
    trend = [np.ones(len(dates)), t, *(np.maximum(t - c, 0) for c in changepoints)]
    weekday = np.stack([(dates.dayofweek == d).astype(float) for d in range(1, 7)], axis=1)
    return np.column_stack([*trend, weekday, cal.to_numpy(float)]), len(trend)


def forecast(y, dates, horizon, country, subdiv, max_days=1100):
    y, dates = y[-max_days:], dates[-max_days:]
    z = np.log1p(y)
    t0 = dates[0]
    span = (dates[-1] - t0).days / 365.25
    changepoints = np.linspace(0, 0.8 * span, 26)[1:]
    x, n_trend = design(dates, t0, changepoints, country, subdiv)
    penalty = np.full(x.shape[1], 0.01)
    penalty[:2] = 0.0
    penalty[2:n_trend] = 10.0
    beta = np.linalg.solve(x.T @ x + np.diag(penalty) * len(z), x.T @ z)
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=horizon)
    xf, _ = design(future, t0, changepoints, country, subdiv)
    zf = xf @ beta
    resid = (z - x @ beta)[-365:]
    q = np.maximum(np.expm1(zf[:, None] + np.quantile(resid, QUANTILES)[None, :]), 0.0)
    return future, np.expm1(zf + np.log(np.mean(np.exp(resid)))), q


def main(argv: list[str]) -> None:
    data_dir = Path(argv[0]) if argv else HERE.parents[2] / "shared" / "data"
    out = Path(argv[1]) if len(argv) > 1 else HERE / "results" / "trend"
    out.mkdir(parents=True, exist_ok=True)
    for ds in ("bern", "iowa", "wales"):
        frame = load(ds, data_dir)
        cuts = cutoffs_for(frame, 7, 7, 52)
        rows = []
        for site, g in frame.groupby("site_id"):
            y, dates = g["attendances"].to_numpy(float), pd.DatetimeIndex(g["date"])
            for cut in cuts:
                keep = dates <= cut
                days, mean, q = forecast(y[keep], dates[keep], 7, *HOLIDAYS[ds])
                part = pd.DataFrame(
                    {
                        "site_id": site,
                        "cutoff": cut,
                        "date": days,
                        "horizon": range(1, 8),
                        "mean": mean,
                    }
                )
                part[list(QUANTILE_COLUMNS)] = q
                rows.append(part)
        bt = pd.concat(rows, ignore_index=True).merge(
            frame[["site_id", "date", "attendances"]].rename(columns={"attendances": "y"}),
            on=["site_id", "date"],
            how="left",
        )
        bt.to_csv(out / f"{ds}_trend.csv.gz", index=False)
        print(f"{ds}: {len(bt)} rows -> {out / f'{ds}_trend.csv.gz'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
