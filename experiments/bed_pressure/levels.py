"""Level distribution of the default OPEL-style scoring on our backtest forecasts (issue 11).

Usage (after ``run.py``, which writes the scored forecasts):

    .venv/bin/python experiments/bed_pressure/levels.py [/tmp/bed_pressure_forecasts.csv.gz]

Scores our model's backtest forecast frame (beds occupied: ``mean`` and ``q0.05 … q0.95``)
with ``forecasting.pressure.assess_pressure`` and the default ``Config().pressure``; history is
the sitreps DemandFrame up to the latest cutoff (beds occupied, ``beds``, handovers over 60
minutes). For reference the same scoring with the observed occupancy in place of the forecast
(every quantile = the observed count: probabilities become 0/1). Prints the share of
trust-days at levels 1–4 (markdown) and writes ``results/levels.md``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sitreps

from forecasting.config import Config
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.pressure import assess_pressure

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "occupancy (ours)"


def shares(scored: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Share of rows at each level (columns 1..4), optionally per group."""
    level = scored["opel_level"].astype("Int64")
    if by is None:
        return level.value_counts(normalize=True).reindex([1, 2, 3, 4], fill_value=0.0).to_frame().T
    tab = pd.crosstab(scored[by], level, normalize="index")
    return tab.reindex(columns=[1, 2, 3, 4], fill_value=0.0)


def main(argv: list[str] | None = None) -> None:
    """Score ours and observed; print and write the level table."""
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0]) if args else Path("/tmp/bed_pressure_forecasts.csv.gz")
    warnings.filterwarnings("ignore")
    fc = pd.read_csv(path, parse_dates=["cutoff", "date"])
    fc = fc[fc["model"] == MODEL].reset_index(drop=True)
    frame = sitreps.load_sitreps()
    history = frame[frame["date"] <= fc["cutoff"].max()].drop(columns=["winter"])
    settings = Config().pressure
    keep = ["site_id", "cutoff", "date", "horizon", "model", "mean", *QUANTILE_COLUMNS]
    ours = assess_pressure(fc[keep], history, settings)
    observed = fc[keep].copy()
    for col in ["mean", *QUANTILE_COLUMNS]:
        observed[col] = fc["y"].to_numpy()
    obs = assess_pressure(observed, history, settings)
    lines = ["| scored | horizon | n | level 1 | level 2 | level 3 | level 4 |", "|---" * 7 + "|"]
    for name, scored in (("forecast (ours)", ours), ("observed occupancy", obs)):
        for label, part in (("1..7", scored), ("1", scored[scored["horizon"] == 1])):
            part = part[part["opel_level"].notna()]
            s = shares(part).iloc[0]
            cells = " | ".join(f"{100 * s[k]:.1f}%" for k in (1, 2, 3, 4))
            lines.append(f"| {name} | {label} | {len(part)} | {cells} |")
    text = "\n".join(lines)
    print(text)
    changed = (ours["opel_level"] != obs["opel_level"]).mean()
    print(f"forecast level differs from the observed-occupancy one on {100 * changed:.1f}% of rows")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "levels.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
