"""The escalation pipeline end to end: columns, occupancy rule on synthetic sites, bad inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from forecasting.config import Config, config_from_dict
from forecasting.data.export import site_settings
from forecasting.data.synth import synth_demand
from forecasting.errors import DataError
from forecasting.escalation import WARNING_COLUMNS, assess, to_flat, to_records
from forecasting.escalation.errors import (
    AsOfError,
    EmptyDataError,
    ForecastMismatchError,
    MissingBedsError,
    UnknownSiteError,
)
from forecasting.escalation.occupancy import past_occupancy
from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES
from forecasting.models.naive import SeasonalNaive

AS_OF = pd.Timestamp("2025-03-02")
JSON_FIELDS = {
    "site_id",
    "date",
    "level",
    "attendances_mean",
    "attendances_q0.05",
    "attendances_q0.95",
    "surge_threshold",
    "p_surge",
    "occupancy",
    "electives_to_review",
    "reasons",
}


@pytest.fixture(scope="module")
def synth():
    return synth_demand(n_sites=2, years=2, seed=3, episodes_per_site_day=0.01)


@pytest.fixture(scope="module")
def cfg(synth) -> Config:
    return Config(sites={p.site_id: site_settings(p) for p in synth.sites})


@pytest.fixture(scope="module")
def forecast(synth) -> pd.DataFrame:
    history = synth.demand[synth.demand["date"] <= AS_OF]
    return SeasonalNaive().fit(history).predict(7)


def _oracle(demand: pd.DataFrame, as_of: pd.Timestamp, horizon: int = 7) -> pd.DataFrame:
    """A forecast that knows the outcome (no spread): isolates the occupancy rule."""
    rows = demand[(demand["date"] > as_of) & (demand["date"] <= as_of + pd.Timedelta(days=horizon))]
    out = rows[["site_id", "date"]].copy()
    out["cutoff"] = as_of
    out["horizon"] = (out["date"] - as_of).dt.days
    out["model"] = "oracle"
    out["mean"] = rows["attendances"].astype(float)
    for q in QUANTILE_COLUMNS:
        out[q] = out["mean"]
    return out.reset_index(drop=True)


def test_assess_when_forecast_given_returns_one_row_per_site_and_day(synth, cfg, forecast):
    w = assess(forecast, synth.demand, cfg, AS_OF)
    assert list(w.columns) == list(WARNING_COLUMNS)
    assert len(w) == 2 * 7
    assert w.groupby("site_id")["horizon"].apply(list).tolist() == [list(range(1, 8))] * 2
    assert (w["as_of"] == AS_OF).all()
    assert w["level"].between(1, 4).all()
    assert set(w["level_name"]) <= {
        "flow maintained",
        "signs of pressure",
        "major pressure",
        "unable to deliver comprehensive care",
    }
    for reasons in w["reasons"]:
        assert isinstance(reasons, list)
        assert reasons
        assert all(isinstance(sentence, str) for sentence in reasons)
    assert (w["p_surge_high"] <= w["p_surge"] + 1e-12).all()
    assert (w["occupancy_q_high"] >= w["occupancy"] - 1e-12).all()
    assert (w["electives_to_review"] <= w["electives_deferrable"]).all()


def test_assess_when_as_of_omitted_uses_last_day_of_data(synth, cfg):
    history = synth.demand[synth.demand["date"] <= AS_OF]
    f = SeasonalNaive().fit(history).predict(3)
    w = assess(f, history, cfg)
    assert (w["as_of"] == AS_OF).all()
    assert w["horizon"].max() == 3


def test_assess_when_horizon_configured_shorter_keeps_only_those_days(synth, forecast):
    cfg = config_from_dict({"horizon": 3, "sites": {"RAA": {"beds": 500}}})
    w = assess(forecast, synth.demand, cfg, AS_OF)
    assert sorted(w["horizon"].unique()) == [1, 2, 3]


def test_assess_when_oracle_forecast_occupancy_matches_derived_past_occupancy(synth, cfg):
    # The forecast path uses the learned conversion rate instead of the day's admissions: the
    # two agree to within a few points of occupancy on the first day.
    w = assess(_oracle(synth.demand, AS_OF), synth.demand, cfg, AS_OF)
    for site, g in synth.demand.groupby("site_id"):
        past = past_occupancy(g.reset_index(drop=True), cfg, site)
        day1 = w[(w["site_id"] == site) & (w["horizon"] == 1)].iloc[0]
        assert day1["occupancy"] == pytest.approx(past[day1["date"]], abs=0.03)


def test_past_occupancy_when_synthetic_sites_sized_for_the_comfort_line_averages_near_it():
    data = synth_demand(n_sites=4, years=1, seed=0, episodes_per_site_day=0.01)
    cfg = Config(sites={p.site_id: site_settings(p) for p in data.sites})
    means = [
        past_occupancy(g.reset_index(drop=True), cfg, site).mean()
        for site, g in data.demand.groupby("site_id")
    ]
    assert np.mean(means) == pytest.approx(0.85, abs=0.03)
    assert all(0.75 < m < 0.95 for m in means)


def test_assess_when_future_rows_hold_planned_electives_uses_them(synth, cfg, forecast):
    w = assess(forecast, synth.demand, cfg, AS_OF)
    planned = synth.demand.set_index(["site_id", "date"])["electives_planned"]
    expected = [planned[(s, d)] for s, d in zip(w["site_id"], w["date"], strict=True)]
    assert w["electives_planned"].tolist() == expected


def test_assess_when_surge_certain_escalates_with_reasons_and_advice(synth, cfg):
    f = _oracle(synth.demand, AS_OF)
    f.loc[f["horizon"] == 2, [*QUANTILE_COLUMNS, "mean"]] *= 1.8  # a huge surge on day 2
    w = assess(f, synth.demand, cfg, AS_OF)
    day2 = w[w["horizon"] == 2]
    assert (day2["level"] == 4).all()
    assert (day2["p_surge"] == 1.0).all()
    for reasons in day2["reasons"]:
        assert reasons[0].startswith("100% chance attendances exceed the surge line of ")
        assert "(90th percentile of the last year, adjusted for the weekday)" in reasons[0]


def test_assess_when_beds_short_advises_review_within_deferrable(synth):
    short = {p.site_id: {**site_settings(p).model_dump(), "beds": p.beds // 2} for p in synth.sites}
    cfg = config_from_dict({"sites": short})
    demand = synth.demand.drop(columns="beds")  # beds from the config: half what is needed
    w = assess(_oracle(demand, AS_OF), demand, cfg, AS_OF)
    weekdays = w[w["electives_deferrable"] > 0]
    assert (weekdays["level"] == 4).all()
    assert (weekdays["electives_to_review"] == weekdays["electives_deferrable"]).all()
    assert weekdays["advice"].str.startswith("Review ").all()
    assert (w.loc[w["electives_to_review"] == 0, "advice"] == "").all()
    # the table's "to review" count in the same words as the reasons and the JSON
    row = weekdays.iloc[0]
    n, d = int(row["electives_to_review"]), int(row["electives_deferrable"])
    assert row["advice"] == (
        f"Review {n} of {d} deferrable elective admissions for deferral (never cancer or "
        "urgent work) to keep occupancy below 92%"
    )


def test_to_records_when_dumped_is_json_with_iso_dates(synth, cfg, forecast):
    records = to_records(assess(forecast, synth.demand, cfg, AS_OF))
    assert set(records[0]) >= JSON_FIELDS
    back = json.loads(json.dumps(records))
    assert back[0]["date"] == "2025-03-03"
    assert back[0]["as_of"] == "2025-03-02"
    assert isinstance(back[0]["level"], int)
    assert isinstance(back[0]["reasons"], list)


def test_to_flat_when_written_joins_reasons(synth, cfg, forecast):
    w = assess(forecast, synth.demand, cfg, AS_OF)
    flat = to_flat(w)
    assert list(flat.columns) == list(WARNING_COLUMNS)
    assert flat["reasons"].iloc[0] == "; ".join(w["reasons"].iloc[0])
    assert flat["date"].iloc[0] == "2025-03-03"


# --- bad inputs ------------------------------------------------------------------------------


def test_assess_error_when_config_names_unknown_site(synth, forecast):
    cfg = config_from_dict({"sites": {"RZZ": {"beds": 300}}})
    with pytest.raises(UnknownSiteError) as info:
        assess(forecast, synth.demand, cfg, AS_OF)
    assert str(info.value) == (
        "config key 'sites.RZZ': site 'RZZ' is not in the data (sites in the data: RAA, RAB). "
        "Fix: correct the site id or remove it from the config."
    )


def test_assess_error_when_beds_missing_names_site(synth, forecast):
    with pytest.raises(MissingBedsError, match="site 'RAA' has no bed count"):
        assess(forecast, synth.demand.drop(columns="beds"), Config(), AS_OF)


def test_assess_error_when_as_of_beyond_data(synth, forecast):
    with pytest.raises(AsOfError) as info:
        assess(forecast, synth.demand, Config(), "2026-02-01")
    assert str(info.value) == (
        "column 'date': as-of date 2026-02-01 is beyond the data, which end on 2025-12-31. "
        "Fix: pass an as-of date on or before 2025-12-31, or update the data."
    )


@pytest.mark.parametrize("which", ["history", "forecast"])
def test_assess_error_when_data_empty(synth, forecast, which):
    history = synth.demand.iloc[:0] if which == "history" else synth.demand
    f = forecast.iloc[:0] if which == "forecast" else forecast
    what = "demand data" if which == "history" else which
    with pytest.raises(EmptyDataError, match=f"the {what} ha"):
        assess(f, history, Config(), AS_OF)


def test_assess_error_when_forecast_has_several_models(synth, cfg, forecast):
    both = pd.concat([forecast, forecast.assign(model="ets")])
    with pytest.raises(ForecastMismatchError, match=r"several models \(ets, snaive\)"):
        assess(both, synth.demand, cfg, AS_OF)


def test_assess_error_when_forecast_site_not_in_data(synth, cfg, forecast):
    with pytest.raises(ForecastMismatchError, match="forecast site 'XYZ' is not in the demand"):
        assess(forecast.assign(site_id="XYZ"), synth.demand, cfg, AS_OF)


def test_assess_error_when_forecast_made_after_as_of(synth, cfg, forecast):
    with pytest.raises(ForecastMismatchError, match="made after the as-of date"):
        assess(forecast, synth.demand, cfg, AS_OF - pd.Timedelta(days=3))


def test_assess_errors_are_data_errors_with_one_line(synth, forecast):
    with pytest.raises(DataError) as info:
        assess(forecast, synth.demand.drop(columns="beds"), Config(), AS_OF)
    assert "\n" not in str(info.value)


def test_assess_when_dates_have_gaps_fills_them(synth, cfg, forecast):
    gappy = synth.demand.drop(synth.demand.index[[100, 101, 500]])
    w = assess(forecast, gappy, cfg, AS_OF)
    assert len(w) == 14


def test_quantile_levels_match_forecast_contract():
    # the config lists the upper quantiles without importing pandas: keep them in step
    from forecasting.config import UPPER_QUANTILES

    assert set(UPPER_QUANTILES) == {q for q in QUANTILES if q > 0.5}


def test_assess_error_when_demand_lacks_attendances(synth, cfg, forecast):
    with pytest.raises(DataError, match="column 'attendances': the demand data lack"):
        assess(forecast, synth.demand.drop(columns="attendances"), cfg, AS_OF)


def test_assess_when_a_site_ended_long_ago_still_assesses_it(synth, cfg):
    # site RAB's data stop in 2024; its forecast was made from its own last day
    demand = synth.demand[
        (synth.demand["site_id"] == "RAA") | (synth.demand["date"] <= "2024-06-30")
    ]
    history = demand[demand["date"] <= AS_OF]
    f = SeasonalNaive().fit(history).predict(300)
    w = assess(f, demand, cfg, AS_OF)
    assert sorted(w["site_id"].unique()) == ["RAA", "RAB"]
    assert (w["horizon"] <= 7).all()


def test_assess_when_only_attendances_uses_config_rates_and_beds(synth, forecast):
    demand = synth.demand[["site_id", "date", "attendances"]]
    cfg = config_from_dict({"site_defaults": {"beds": 400}})
    w = assess(forecast, demand, cfg, AS_OF)
    assert (w["beds"] == 400).all()
    assert (w["electives_planned"] == 0).all()
    assert w["admissions_mean"].to_numpy() == pytest.approx(0.25 * w["attendances_mean"])
