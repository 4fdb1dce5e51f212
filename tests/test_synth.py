"""Properties of the synthetic data generator (forecasting.data.synth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecasting.data.profile import profile_frame, weekday_baseline_ratio
from forecasting.data.synth import (
    DEFAULT_END,
    DEMAND_COLUMNS,
    EPISODE_COLUMNS,
    RISK_MODEL_COEFS,
    SiteProfile,
    SynthData,
    synth_demand,
    synth_episodes,
    synth_sites,
    true_readmission_risk,
)
from forecasting.data.synth.calendar import bank_holidays, school_holiday_mask


@pytest.fixture(scope="module")
def data() -> SynthData:
    return synth_demand()


@pytest.fixture(scope="module")
def by_site(data: SynthData) -> dict[str, pd.DataFrame]:
    return {s: g.set_index("date") for s, g in data.demand.groupby("site_id")}


def _ratio_to_neighbours(series: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """Value on each day over the mean of the same weekday one week before and after."""
    out = []
    for day in days:
        near = [day - pd.Timedelta(days=7), day + pd.Timedelta(days=7)]
        if day in series.index and all(d in series.index for d in near):
            out.append(series[day] / series[near].mean())
    return np.asarray(out)


def test_synth_demand_is_identical_when_seed_repeated() -> None:
    a = synth_demand(n_sites=2, years=1.0, seed=7)
    b = synth_demand(n_sites=2, years=1.0, seed=7)
    pd.testing.assert_frame_equal(a.demand, b.demand)
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    pd.testing.assert_frame_equal(a.surges, b.surges)
    assert a.sites == b.sites


def test_synth_demand_differs_when_seed_differs() -> None:
    a = synth_demand(n_sites=2, years=1.0, seed=7)
    b = synth_demand(n_sites=2, years=1.0, seed=8)
    assert not a.demand["attendances"].equals(b.demand["attendances"])
    assert a.sites != b.sites
    assert not a.episodes["patient_id"].equals(b.episodes["patient_id"])


def test_site_data_unchanged_when_more_sites_generated() -> None:
    few = synth_demand(n_sites=2, years=1.0, seed=3)
    many = synth_demand(n_sites=5, years=1.0, seed=3)
    assert many.sites[:2] == few.sites
    for site in ("RAA", "RAB"):
        pd.testing.assert_frame_equal(
            few.demand[few.demand["site_id"] == site].reset_index(drop=True),
            many.demand[many.demand["site_id"] == site].reset_index(drop=True),
        )
        pd.testing.assert_frame_equal(
            few.episodes[few.episodes["site_id"] == site].reset_index(drop=True),
            many.episodes[many.episodes["site_id"] == site].reset_index(drop=True),
        )


def test_demand_has_contract_columns_and_dtypes_when_default(data: SynthData) -> None:
    d = data.demand
    assert tuple(d.columns) == DEMAND_COLUMNS
    assert d["date"].dtype == "datetime64[ns]"
    assert (d["date"] == d["date"].dt.normalize()).all()
    for col in ("attendances", "admissions", "beds", "electives_planned"):
        assert d[col].dtype == np.int64
        assert (d[col] >= 0).all()
    assert d["temperature"].dtype == np.float64
    assert d["site_id"].map(type).eq(str).all()
    assert (d["admissions"] <= d["attendances"]).all()
    assert d["date"].max() == pd.Timestamp(DEFAULT_END)


def test_demand_has_no_gaps_or_duplicates_when_default(data: SynthData) -> None:
    d = data.demand
    assert not d.duplicated(["site_id", "date"]).any()
    assert d.equals(d.sort_values(["site_id", "date"], ignore_index=True))
    for _, g in d.groupby("site_id"):
        assert (g["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert d.groupby("site_id")["date"].agg(["min", "max"]).nunique().eq(1).all()
    assert len(data.sites) == d["site_id"].nunique() == 4


def test_end_and_years_set_the_period_when_given() -> None:
    d = synth_demand(n_sites=1, years=0.5, end="2024-03-31", seed=1).demand
    assert d["date"].max() == pd.Timestamp("2024-03-31")
    assert len(d) == round(0.5 * 365) + 1


def test_invalid_arguments_raise_when_out_of_range() -> None:
    with pytest.raises(ValueError):
        synth_demand(n_sites=0)
    with pytest.raises(ValueError):
        synth_demand(years=0)


def test_site_profiles_are_plausible_when_many_sites() -> None:
    sites = synth_sites(40, seed=5)
    assert sites[:3] == synth_sites(3, seed=5)
    assert len({s.site_id for s in sites}) == len({s.name for s in sites}) == 40
    for s in sites:
        assert isinstance(s, SiteProfile)
        assert 120 <= s.mean_attendances <= 450
        assert 0.20 <= s.admission_rate <= 0.32
        assert 4.5 <= s.mean_los_emergency <= 7 and 2 <= s.mean_los_elective <= 4
        assert len(s.electives_by_weekday) == 7
        assert max(s.electives_by_weekday[5:]) < min(s.electives_by_weekday[:5])
        occupied = s.mean_attendances * s.admission_rate * s.mean_los_emergency
        occupied += s.mean_electives * s.mean_los_elective
        assert 0.8 < occupied / s.beds < 1.0


def test_monday_is_busiest_when_profiled(data: SynthData) -> None:
    prof = profile_frame(data.demand)
    assert (prof["busiest_weekday"] == "Mon").all()
    assert prof["weekly_ratio"].between(1.08, 1.25).all()


def test_attendances_peak_in_early_summer_when_profiled(data: SynthData) -> None:
    prof = profile_frame(data.demand)
    # A level shift late in a year distorts that year's month means: judge the others.
    steady = ~prof["site_id"].isin(data.level_shifts["site_id"])
    assert prof.loc[steady, "peak_month"].isin(["May", "Jun", "Jul", "Aug"]).all()
    assert prof["peak_month"].isin(["Apr", "May", "Jun", "Jul", "Aug", "Sep"]).all()
    assert prof["seasonal_ratio"].between(1.04, 1.2).all()
    assert prof["cv"].between(0.07, 0.16).all()


def test_admissions_peak_in_winter_when_profiled(data: SynthData) -> None:
    d = data.demand
    month = d["date"].dt.month
    conversion = d["admissions"] / d["attendances"]
    winter = conversion[month.isin([12, 1, 2])].groupby(d["site_id"]).mean()
    summer = conversion[month.isin([6, 7, 8])].groupby(d["site_id"]).mean()
    assert (winter > summer * 1.05).all()
    prof = profile_frame(d, "admissions")
    assert prof["peak_month"].isin(["Nov", "Dec", "Jan", "Feb"]).all()


def test_bank_holidays_dip_then_rebound_when_compared_with_same_weekday(
    data: SynthData, by_site: dict[str, pd.DataFrame]
) -> None:
    hols = bank_holidays(pd.DatetimeIndex(data.demand["date"].unique()))
    hols = hols[hols.dayofweek < 5]
    after = pd.DatetimeIndex(
        [h + pd.offsets.BDay(1) for h in hols if h + pd.offsets.BDay(1) not in hols]
    )
    dips = np.concatenate([_ratio_to_neighbours(g["attendances"], hols) for g in by_site.values()])
    rebounds = np.concatenate(
        [_ratio_to_neighbours(g["attendances"], after) for g in by_site.values()]
    )
    assert dips.mean() < 0.95
    assert rebounds.mean() > 1.02
    christmas = hols[(hols.month == 12) & (hols.day == 25)]
    xmas = np.concatenate(
        [_ratio_to_neighbours(g["attendances"], christmas) for g in by_site.values()]
    )
    assert xmas.mean() < dips.mean()


def test_electives_are_zero_when_bank_holiday(data: SynthData) -> None:
    d = data.demand
    hols = bank_holidays(pd.DatetimeIndex(d["date"].unique()))
    assert (d.loc[d["date"].isin(hols), "electives_planned"] == 0).all()
    weekday = d["date"].dt.dayofweek < 5
    assert d.loc[weekday & ~d["date"].isin(hols), "electives_planned"].min() > 0
    weekend = d.loc[~weekday, "electives_planned"].mean()
    assert weekend < 0.25 * d.loc[weekday, "electives_planned"].mean()


def test_surges_are_rare_and_high_when_injected(data: SynthData) -> None:
    prof = profile_frame(data.demand)
    assert prof["surge_rate"].between(0.005, 0.05).all()
    share = len(data.surges) / len(data.demand)
    assert 0.005 <= share <= 0.05
    assert list(data.surges.columns) == ["site_id", "date", "multiplier"]
    assert (data.surges["multiplier"] > 1.0).all()
    assert data.surges["multiplier"].max() > 1.4  # heavy tail
    ratios = []
    for site, g in data.demand.groupby("site_id"):
        r = weekday_baseline_ratio(g.set_index("date")["attendances"].astype(float))
        days = data.surges.loc[
            (data.surges["site_id"] == site) & (data.surges["multiplier"] >= 1.2), "date"
        ]
        ratios.append(r.reindex(days).dropna())
    assert pd.concat(ratios).mean() > 1.15


def test_heatwave_days_are_busier_when_compared_with_neighbours(
    by_site: dict[str, pd.DataFrame],
) -> None:
    ratios = []
    for g in by_site.values():
        hot = g.index[(g["temperature"] >= 28.0) & (g.index.dayofweek < 5)]
        cool = [d for d in hot if g["temperature"].reindex([d - pd.Timedelta(days=7)]).lt(24).all()]
        ratios.append(_ratio_to_neighbours(g["attendances"], pd.DatetimeIndex(cool)))
    all_ratios = np.concatenate(ratios)
    assert len(all_ratios) >= 5
    assert all_ratios.mean() > 1.04


def test_temperature_is_uk_like_when_default(data: SynthData) -> None:
    d = data.demand
    by_month = d.groupby(d["date"].dt.month)["temperature"].mean()
    assert 2.0 < by_month[[1, 2]].mean() < 8.0
    assert 14.0 < by_month[[7, 8]].mean() < 21.0
    assert d["temperature"].max() >= 28.0
    # Sites of one region share weather: their temperatures are highly correlated.
    wide = d.pivot(index="date", columns="site_id", values="temperature")
    assert wide.diff().corr().min().min() > 0.8


def test_school_holidays_cover_summer_when_calendar_built() -> None:
    days = pd.date_range("2024-01-01", "2024-12-31")
    mask = pd.Series(school_holiday_mask(days), index=days)
    assert mask["2024-08-10"] and mask["2024-12-27"] and mask["2024-02-14"]
    assert not mask["2024-10-01"] and not mask["2024-06-12"]
    assert 0.2 < mask.mean() < 0.3  # about 13 weeks of holidays a year


def test_episodes_have_contract_columns_when_default(data: SynthData) -> None:
    ep = data.episodes
    assert tuple(ep.columns) == EPISODE_COLUMNS
    assert 15_000 <= len(ep) <= 40_000
    assert ep["episode_id"].is_unique
    assert ep["patient_id"].str.fullmatch(r"P[0-9A-F]{14}").all()
    assert ep["episode_id"].str.fullmatch(r"E[0-9A-F]{14}").all()
    assert ep["admission_date"].dtype == "datetime64[ns]"
    los = (ep["discharge_date"] - ep["admission_date"]).dt.days
    assert (los == ep["length_of_stay"]).all() and (los >= 0).all()
    assert set(ep["admission_type"]) == {"emergency", "elective"}
    assert set(ep["sex"]) == {"F", "M"}
    assert set(ep["discharge_destination"]) <= {
        "home",
        "home_with_care",
        "care_home",
        "other_hospital",
    }
    assert ep["charlson"].between(0, 10).all() and ep["age"].between(0, 110).all()
    assert (ep["comorbidity_count"] >= ep["charlson"]).all()
    assert ep["discharge_date"].max() <= data.demand["date"].max()
    assert ep["admission_date"].min() >= data.demand["date"].min()
    assert ep.groupby("patient_id")["site_id"].nunique().eq(1).all()


def test_episode_los_matches_site_profile_when_averaged(data: SynthData) -> None:
    ep = data.episodes
    for s in data.sites:
        mine = ep[ep["site_id"] == s.site_id]
        em = mine.loc[mine["admission_type"] == "emergency", "length_of_stay"].mean()
        el = mine.loc[mine["admission_type"] == "elective", "length_of_stay"].mean()
        assert em == pytest.approx(s.mean_los_emergency, rel=0.2)
        assert el == pytest.approx(s.mean_los_elective, rel=0.2)


def test_patient_episodes_are_ordered_and_labels_consistent_when_followed(
    data: SynthData,
) -> None:
    ep = data.episodes.sort_values(["patient_id", "admission_date"], kind="stable")
    assert (ep.groupby("patient_id").size() > 1).sum() > 1000
    nxt = ep.groupby("patient_id")["admission_date"].shift(-1)
    has_next = nxt.notna()
    assert (nxt[has_next] > ep.loc[has_next, "discharge_date"]).all()
    gap = (nxt - ep["discharge_date"]).dt.days
    assert (gap[has_next & (ep["readmitted_30d"] == 0)] > 30).all()
    assert (gap[has_next & (ep["readmitted_30d"] == 1)] <= 30).all()
    # Readmissions are seen unless they fall after the end of the period.
    early = ep["discharge_date"] < data.demand["date"].max() - pd.Timedelta(days=120)
    seen = has_next[early & (ep["readmitted_30d"] == 1)]
    assert seen.mean() > 0.97


def test_readmission_prevalence_is_realistic_when_default(data: SynthData) -> None:
    prevalence = data.episodes["readmitted_30d"].mean()
    assert 0.10 <= prevalence <= 0.15


def test_true_risk_predicts_readmission_when_scored(data: SynthData) -> None:
    ep = data.episodes
    risk = true_readmission_risk(ep)
    assert risk.shape == (len(ep),)
    assert roc_auc_score(ep["readmitted_30d"], risk) > 0.65
    # Calibrated by construction: mean risk matches prevalence, deciles increase.
    assert risk.mean() == pytest.approx(ep["readmitted_30d"].mean(), abs=0.01)
    decile = pd.qcut(risk, 10, labels=False)
    observed = ep["readmitted_30d"].groupby(decile).mean()
    assert observed.iloc[-1] > 2.5 * observed.iloc[0]
    assert RISK_MODEL_COEFS["emergency"] > 0 and RISK_MODEL_COEFS["intercept"] < 0


def test_synth_episodes_runs_when_given_a_demand_frame(data: SynthData) -> None:
    demand = data.demand[data.demand["site_id"] == "RAB"]
    ep = synth_episodes(demand, data.sites, seed=0, episodes_per_site_day=2.0)
    assert set(ep["site_id"]) == {"RAB"}
    days = demand["date"].nunique()
    assert 1.0 * days < len(ep) < 3.0 * days
    with pytest.raises(ValueError):
        synth_episodes(demand)
    with pytest.raises(ValueError):
        synth_episodes(demand.drop(columns="admissions"), data.sites)
