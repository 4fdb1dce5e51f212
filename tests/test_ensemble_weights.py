"""Ensemble weights learned per site and horizon from the members' validation windows."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from forecasting.executors import SerialExecutor
from forecasting.executors.processes import ProcessExecutor
from forecasting.forecast_frame import QUANTILE_COLUMNS
from forecasting.models.base import Forecaster, future_dates
from forecasting.models.combination import (
    MIN_FIT_DAYS,
    ValidationPlan,
    fit_member,
    member_losses,
    recent_weights,
)
from forecasting.models.ensemble import EnsembleForecaster
from forecasting.models.fitting import fit_model
from forecasting.models.naive import SeasonalNaive


class Constant(Forecaster):
    """Forecasts ``level`` with quantiles ``level +- spread``; logs the history end it saw."""

    name = "constant"
    seen: ClassVar[list[tuple[pd.Timestamp, pd.Timestamp]]] = []

    def __init__(self, level: float = 100.0, spread: float = 1.0) -> None:
        self.level = level
        self.spread = spread

    def _fit(self, history: pd.DataFrame) -> None:
        self.sites_ = sorted(history["site_id"].astype(str).unique())

    def _predict(self, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        rows = []
        for site, g in self.history_.groupby("site_id"):
            last = pd.Timestamp(g["date"].max())
            for h, day in enumerate(future_dates(last, horizon), start=1):
                Constant.seen.append((last, day))
                rows.append({"site_id": site, "cutoff": last, "date": day, "horizon": h})
        out = pd.DataFrame(rows)
        out["mean"] = self.level
        offsets = np.linspace(-self.spread, self.spread, len(QUANTILE_COLUMNS))
        for col, off in zip(QUANTILE_COLUMNS, offsets, strict=True):
            out[col] = self.level + off
        return out


def _frame(days: int = 500, sites: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    weekly = np.where(dates.dayofweek >= 5, 0.8, 1.0)
    parts = [
        pd.DataFrame(
            {
                "site_id": f"S{i}",
                "date": dates,
                "attendances": rng.poisson(100 * (i + 1) * weekly).astype(float),
            }
        )
        for i in range(sites)
    ]
    return pd.concat(parts, ignore_index=True)


def test_validation_cutoffs_when_history_is_long_end_horizon_days_before_the_end() -> None:
    cuts = ValidationPlan(windows=3, step=7, horizon=7).cutoffs(_frame(days=500))
    assert cuts == [
        pd.Timestamp("2024-04-23"),
        pd.Timestamp("2024-04-30"),
        pd.Timestamp("2024-05-07"),
    ]


def test_validation_cutoffs_when_history_is_short_are_empty() -> None:
    plan = ValidationPlan(windows=12, step=7, horizon=7)
    assert plan.cutoffs(_frame(days=MIN_FIT_DAYS + 12 * 7 - 1)) == []
    assert len(plan.cutoffs(_frame(days=MIN_FIT_DAYS + 12 * 7 + 1))) == 12


def test_validation_cutoffs_when_history_has_a_gap_are_empty() -> None:
    frame = _frame(days=700)
    gappy = frame[(frame["date"] < "2023-06-01") | (frame["date"] > "2023-06-10")]
    assert ValidationPlan().cutoffs(gappy) == []


def test_fit_member_when_validating_forecasts_only_from_data_up_to_each_cutoff() -> None:
    Constant.seen.clear()
    frame = _frame(days=500)
    plan = ValidationPlan(windows=4, step=7, horizon=7)
    fit = fit_member(frame, Constant(), plan)
    cuts = plan.cutoffs(frame)
    val = fit.validation
    assert sorted(val["cutoff"].unique()) == cuts
    assert (val["date"] > val["cutoff"]).all()
    assert (val["date"] <= val["cutoff"] + pd.Timedelta(days=7)).all()
    # every validation forecast was made from a history ending exactly at its cutoff
    assert {last for last, _ in Constant.seen} == set(cuts)
    assert len(val) == 4 * 7 * 2
    # and the returned member is rolled forward to the end of the history
    assert fit.model.history_["date"].max() == frame["date"].max()  # type: ignore[attr-defined]


def test_recent_weights_when_losses_are_one_and_two_with_power_two_are_08_and_02() -> None:
    def val(q_offset: float) -> pd.DataFrame:
        v = pd.DataFrame({"site_id": ["A"], "horizon": [1], "y": [10.0]})
        for col in QUANTILE_COLUMNS:
            v[col] = 10.0 + q_offset
        return v

    # pinball of a constant miss d over the 7 quantiles = d * mean(tau) = d / 2
    assert member_losses(val(2.0)).iloc[0] == pytest.approx(1.0)
    w = recent_weights([val(2.0), val(4.0)], power=2.0)
    assert w.loc[("A", 1)].tolist() == pytest.approx([0.8, 0.2])


def test_ensemble_when_one_member_is_far_off_gives_it_almost_no_weight() -> None:
    frame = _frame(days=500)
    model = EnsembleForecaster(
        [SeasonalNaive(), Constant(level=10.0)], weighting="recent", power=4.0
    ).fit(frame)
    w = model.site_weights_
    assert set(w.index.get_level_values(0)) == {"S0", "S1"}
    assert (w[0] > 0.999).all()
    plain = SeasonalNaive().fit(frame).predict(7)
    combined = model.predict(7)
    np.testing.assert_allclose(combined["q0.5"], plain["q0.5"], rtol=2e-3)


def test_ensemble_when_history_is_short_falls_back_to_equal_weights() -> None:
    frame = _frame(days=200)
    model = EnsembleForecaster([SeasonalNaive(), Constant(level=10.0)], weighting="recent").fit(
        frame
    )
    assert model.site_weights_.empty
    out = model.predict(7)
    naive = SeasonalNaive().fit(frame).predict(7)
    np.testing.assert_allclose(out["mean"], (naive["mean"] + 10.0) / 2)


def test_ensemble_when_weighting_is_unknown_raises_value_error() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        EnsembleForecaster([SeasonalNaive()], weighting="best").fit(_frame(days=100))


@pytest.mark.parametrize("workers", [1, 2])
def test_fit_model_when_recent_weighting_equals_plain_fit(workers: int) -> None:
    frame = _frame(days=480)
    template = EnsembleForecaster([SeasonalNaive(), Constant(level=150.0)], weighting="recent")
    plain = EnsembleForecaster(**template.get_params()).fit(frame)
    executor = SerialExecutor() if workers == 1 else ProcessExecutor(workers)
    with executor as ex:
        fitted = fit_model(template, frame, ex)
    pd.testing.assert_frame_equal(fitted.site_weights_, plain.site_weights_)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(fitted.predict(7), plain.predict(7), check_exact=True)


def test_interval_scale_when_every_day_hits_the_median_narrows_by_the_shrunk_minimum() -> None:
    from forecasting.models.combination import interval_scale

    combined = pd.DataFrame({"y": [10.0, 20.0]})
    for col, off in zip(QUANTILE_COLUMNS, [-3, -2, -1, 0, 1, 2, 3], strict=True):
        combined[col] = combined["y"] + off
    assert interval_scale(combined, shrink=1.0) == pytest.approx(0.5)
    assert interval_scale(combined, shrink=0.5) == pytest.approx(0.75)
    assert interval_scale(combined.iloc[:0], shrink=0.5) == 1.0


def test_ensemble_when_calibrating_too_wide_intervals_narrows_them_around_the_median() -> None:
    frame = _frame(days=500, sites=1)
    wide = EnsembleForecaster(
        [Constant(level=100.0, spread=80.0), Constant(level=100.0, spread=80.0)],
        weighting="recent",
    )
    plain = wide.fit(frame).predict(7)
    calibrated = EnsembleForecaster(**(wide.get_params() | {"calibrate": True})).fit(frame)
    assert calibrated.interval_scale_ < 1.0
    out = calibrated.predict(7)
    np.testing.assert_allclose(out["q0.5"], plain["q0.5"])
    width = (out["q0.95"] - out["q0.05"]) / (plain["q0.95"] - plain["q0.05"])
    np.testing.assert_allclose(width, calibrated.interval_scale_)
