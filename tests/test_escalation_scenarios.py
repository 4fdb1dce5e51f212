"""Scenarios on synthetic sites with injected surges (the issue's "done when").

The forecaster here is small and deterministic: each weekday's median of the last four weeks,
with a lognormal spread from its own recent errors. Told of the coming surges (as a forecast
that sees them, e.g. from a heat-health alert or a mass event), it shows whether the warning
rules turn that foresight into a level 3+ warning days ahead; untold, it shows they stay quiet.
The synthetic surges themselves are unexplained, so no model can see them in the history alone.

Beds are 10% above the synthetic sizing (about 82% occupied) so that bed pressure, which the
occupancy tests cover, does not mask what the surge rules do.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecasting.config import Config
from forecasting.data.export import site_settings
from forecasting.data.synth import synth_demand
from forecasting.escalation import WarningHistory, assess, evaluate_warnings
from forecasting.escalation.reasons import rebound_days
from forecasting.escalation.thresholds import add_surge_risk, surge_lines
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES

WEEKS = 4
Z = norm.ppf(QUANTILES)
FIRST, LAST = pd.Timestamp("2025-02-01"), pd.Timestamp("2025-11-30")
CLEAR_SURGE = 1.2  # the median injected surge: +20%


def weekday_median_forecast(
    demand: pd.DataFrame, as_of: pd.Timestamp, surges: pd.DataFrame | None = None, horizon: int = 7
) -> pd.DataFrame:
    """Median of the last four same weekdays; times the injected multiplier when told."""
    told = {} if surges is None else surges.set_index(["site_id", "date"])["multiplier"].to_dict()
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=horizon, freq="D")
    parts = []
    for site, g in demand[demand["date"] <= as_of].groupby("site_id"):
        y = g.set_index("date")["attendances"].astype(float).tail(16 * 7)
        weekday = y.index.dayofweek
        past = y.groupby(weekday).transform(lambda s: s.shift(1).rolling(WEEKS).median())
        sigma = float(np.log(y / past).dropna().tail(84).std())
        base = np.array([y[weekday == d.dayofweek].tail(WEEKS).median() for d in days])
        mean = base * np.array([told.get((site, d), 1.0) for d in days])
        f = pd.DataFrame(
            {
                "site_id": site,
                "cutoff": as_of,
                "date": days,
                "horizon": np.arange(1, horizon + 1),
                "model": "weekday_median",
                "mean": mean,
            }
        )
        f[list(QUANTILE_COLUMNS)] = mean[:, None] * np.exp(Z[None, :] * sigma)
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def scenario():
    data = synth_demand(n_sites=4, years=2, seed=8, episodes_per_site_day=0.01)
    demand = data.demand.copy()
    demand["beds"] = np.rint(demand["beds"] * 1.1).astype(int)
    cfg = Config(sites={p.site_id: site_settings(p) for p in data.sites})
    return data, demand, cfg


def test_warning_rises_before_injected_surges_when_forecast_sees_them(scenario, tmp_path):
    data, demand, cfg = scenario
    s = data.surges
    events = s[(s["date"] >= FIRST) & (s["date"] <= LAST) & (s["multiplier"] >= CLEAR_SURGE)]
    assert len(events) >= 6
    history = WarningHistory(tmp_path / "warnings.sqlite")
    untold_levels = []
    for _, event in events.iterrows():
        for lead in (3, 1):
            as_of = event["date"] - pd.Timedelta(days=lead)
            warnings = assess(weekday_median_forecast(demand, as_of, s), demand, cfg, as_of)
            history.append(warnings, as_of.to_pydatetime(), "weekday_median")
        untold = assess(weekday_median_forecast(demand, as_of), demand, cfg, as_of)
        hit = untold[(untold["site_id"] == event["site_id"]) & (untold["date"] == event["date"])]
        untold_levels.append(int(hit["level"].iloc[0]))
    issued = history.read()
    on_event_days = issued.merge(events[["site_id", "date"]], on=["site_id", "date"])
    quality = evaluate_warnings(on_event_days, demand).set_index("site_id").loc["all"]
    assert quality["surge_days"] == len(events)  # every injected clear surge crosses its line
    assert quality["recall"] >= 0.8  # most surges warned at level 3+ ...
    assert quality["lead_median"] == 3  # ... from the first run, three days ahead
    assert np.mean(np.array(untold_levels) >= 3) <= 0.25  # without foresight: no warning
    first = on_event_days.sort_values("as_of").groupby(["site_id", "date"]).first()
    assert first["reasons"].map(lambda r: "chance attendances exceed the surge line" in r[0]).all()


def _ordinary_mondays(data, cfg) -> list[tuple[str, pd.Timestamp]]:
    """Mondays outside the summer peak, with no injected surge and no bank-holiday rebound."""
    mondays = pd.date_range(FIRST, LAST, freq="W-MON")
    mondays = mondays[~mondays.month.isin([6, 7, 8])]
    rebound = rebound_days(mondays, cfg)
    surged = set(zip(data.surges["site_id"], data.surges["date"], strict=True))
    sites = [p.site_id for p in data.sites]
    return [(s, m) for m in mondays if m not in rebound for s in sites if (s, m) not in surged]


def test_ordinary_mondays_stay_quiet_when_lines_allow_for_the_weekday(scenario):
    data, demand, cfg = scenario
    cases = _ordinary_mondays(data, cfg)
    assert len(cases) >= 80
    # flat lines (the busiest weekday measured against every day) would cry wolf on Mondays
    flat = cfg.model_copy(
        update={"escalation": cfg.escalation.model_copy(update={"weekday_adjusted_lines": False})}
    )
    levels, flat_alerts = [], []
    for monday in sorted({m for _, m in cases}):
        as_of = monday - pd.Timedelta(days=1)
        sites = {s for s, m in cases if m == monday}
        f = weekday_median_forecast(demand, as_of, horizon=1)
        w = assess(f, demand, cfg, as_of)
        levels += w.loc[w["site_id"].isin(sites), "level"].tolist()
        past = demand[demand["date"] <= as_of]
        risk = add_surge_risk(f, surge_lines(past, flat, as_of))
        flat_alerts += (risk.loc[risk["site_id"].isin(sites), "p_surge"] >= 0.5).tolist()
    assert np.mean(np.array(levels) >= 3) <= 0.05
    assert np.mean(flat_alerts) >= 0.2


def test_advice_never_defers_protected_work_when_beds_run_short(scenario):
    _, demand, cfg = scenario
    tight = demand.assign(beds=np.rint(demand["beds"] * 0.8).astype(int))  # about 103% occupied
    as_of = pd.Timestamp("2025-01-20")
    w = assess(weekday_median_forecast(tight, as_of), tight, cfg, as_of)
    share = cfg.electives.deferrable_share
    assert (w["level"] >= 3).mean() > 0.5
    assert w["electives_to_review"].sum() > 0
    assert (w["electives_to_review"] <= np.floor(w["electives_planned"] * share + 1e-9)).all()
    assert (w.loc[w["level"] < 3, "electives_to_review"] == 0).all()
