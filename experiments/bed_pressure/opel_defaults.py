"""Level distribution of the default OPEL-style scoring table on the real winter sitreps.

Usage: .venv/bin/python experiments/bed_pressure/opel_defaults.py [SITREPS.csv.gz]

Observed occupancy stands in for the forecast (a perfect forecast of the mean). Treating the
probabilities as 0/1 outcomes of a perfect forecast would be too crude, so each probability is
the empirical frequency of the event among trust-days whose *previous day* was in the same
one-point bin (a persistence forecast, calibrated in-sample):
- P(occupancy >= 97%): frequency of occupancy >= 0.97 given yesterday's occupancy bin;
- P(above own normal): own normal = 90th percentile of the trust's occupancy in its previous
  winter (first winter: last 90 observed days up to that day, once 28 exist); frequency of
  occupancy >= normal given the bin of yesterday's occupancy minus the normal;
- handovers over 60 minutes per 100 open beds: mean of the 7 days before (same winter);
- attendance surge: no sitrep winter after 2015-16 has attendances, so it is left missing (the
  score is rescaled to the available weight, as in production).
Trusts with fewer than 50 G&A beds open (specialist trusts) are left out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.config import PressureConfig
from forecasting.data.segments import segment_ids
from forecasting.pressure.opel import HANDOVER_RATE, score_arrays
from forecasting.pressure.probability import OWN_NORMAL, P_OWN, p_column

DEFAULT = Path(__file__).resolve().parents[3] / "shared/data/nhs_winter_sitreps"
DEFAULT_FILE = DEFAULT / "winter_sitreps_trust_daily.csv.gz"


def stand_in(raw: pd.DataFrame, settings: PressureConfig) -> pd.DataFrame:
    """Per trust-day stand-ins for the forecast parameters (see the module notes)."""
    d = raw[raw["ga_beds_open"] >= 50].dropna(subset=["ga_beds_occupied"]).copy()
    d["date"] = pd.to_datetime(d["date"])
    d = d.sort_values(["trust_code", "date"]).reset_index(drop=True)
    d["occupancy"] = d["ga_beds_occupied"] / d["ga_beds_open"]
    d["segment"] = 0
    for _, idx in d.groupby("trust_code").indices.items():
        d.loc[idx, "segment"] = segment_ids(d["date"].to_numpy()[idx])
    g = d.groupby(["trust_code", "segment"])
    prev = g["occupancy"].shift(1)
    prev_gap = (d["date"] - g["date"].shift(1)).dt.days
    prev = prev.where(prev_gap == 1)
    # own normal: previous segment's p90, else the last 90 observed days before today
    seg_p90 = g["occupancy"].quantile(settings.normal_quantile)
    seg_n = g["occupancy"].size()
    key = pd.MultiIndex.from_arrays([d["trust_code"], d["segment"] - 1])
    normal = pd.Series(seg_p90.reindex(key).to_numpy(), index=d.index)
    normal = normal.where(pd.Series(seg_n.reindex(key).to_numpy(), index=d.index) >= 28)
    rolling = d.groupby("trust_code")["occupancy"].transform(
        lambda s: (
            s.shift(1)
            .rolling(settings.normal_fallback_days, min_periods=28)
            .quantile(settings.normal_quantile)
        )
    )
    d[OWN_NORMAL] = normal.fillna(rolling)
    d[p_column(0.97)] = _frequency(prev, d["occupancy"] >= 0.97)
    d[P_OWN] = _frequency(prev - d[OWN_NORMAL], d["occupancy"] >= d[OWN_NORMAL])
    rate = 100 * d["ambulance_handover_over_60min"] / d["ga_beds_open"]
    d[HANDOVER_RATE] = rate.groupby([d["trust_code"], d["segment"]]).transform(
        lambda s: s.shift(1).rolling(settings.handover_window_days, min_periods=1).mean()
    )
    return d


def _frequency(driver: pd.Series, event: pd.Series) -> pd.Series:
    """Empirical P(event) among rows whose driver falls in the same 0.01-wide bin."""
    bins = np.floor(driver / 0.01)
    ok = driver.notna()
    freq = event[ok].astype(float).groupby(bins[ok]).mean()
    return pd.Series(bins.map(freq).to_numpy(dtype=float), index=driver.index).where(ok)


def main(path: Path) -> None:
    settings = PressureConfig()
    d = stand_in(pd.read_csv(path), settings)
    score, level, _, points = score_arrays(d, settings.parameters, settings.level_cuts)
    d["level"] = level
    d["score"] = score
    print(f"{len(d):,} trust-days, {d['trust_code'].nunique()} trusts ({path.name})")
    print("\nDefault table (PressureConfig.parameters), level cuts", settings.level_cuts)
    for name, p in settings.parameters.items():
        share = np.mean(~np.isnan(points[name]))
        print(
            f"  {name:22s} {p.source:36s} cuts {p.thresholds}  weight {p.weight:g}"
            f"  available {share:.0%}"
        )
    print("\nShare of trust-days by level:")
    shares = d["level"].value_counts(normalize=True).sort_index()
    for lvl, share in shares.items():
        print(f"  level {int(lvl)}: {share:.1%}")
    print("\nBy winter (share of trust-days by level):")
    table = pd.crosstab(d["winter"], d["level"].astype(int), normalize="index")
    print(table.map(lambda x: f"{x:.0%}").to_string())
    occ = d.groupby("level")["occupancy"].median()
    print("\nMedian occupancy by level:", ", ".join(f"{int(k)}: {v:.1%}" for k, v in occ.items()))
    changes = d.groupby(["trust_code", "segment"])["level"].diff().ne(0).mean()
    print(f"Trust-days with a level change from the day before: {changes:.0%}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FILE)
