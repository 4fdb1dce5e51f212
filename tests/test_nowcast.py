"""Intraday nowcast: loader, usual shape, combiners, no look-ahead, CLI (synthetic hourly data)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import DataValueError, NotFittedError, SchemaError
from forecasting.nowcast import (
    DayShape,
    GammaPoissonNowcaster,
    HourlyColumns,
    NowcastOptions,
    ShrinkageNowcaster,
    TomorrowUpdate,
    nowcast_today,
    to_hourly_frame,
    usual_shares,
)
from forecasting.nowcast.days import day_matrix

START = pd.Timestamp("2024-01-01")
SHAPE = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 7, 6, 6, 6, 6, 5, 4, 4, 3, 2], float)
SHAPE = SHAPE / SHAPE.sum()
FAST = NowcastOptions(prior="weekday", calibration_days=28)


def hourly_frame(
    days: int = 100, noise: float = 0.0, poisson: bool = False, sites: tuple[str, ...] = ("a",)
) -> pd.DataFrame:
    """Hourly arrivals: weekday level x a fixed day shape, optionally noisy."""
    rng = np.random.default_rng(7)
    frames = []
    for k, site in enumerate(sites):
        dates = pd.date_range(START, periods=days)
        level = (200 + 20 * k) * np.where(dates.dayofweek == 0, 1.2, 1.0)
        level = level * np.exp(noise * rng.standard_normal(days))
        mean = level[:, None] * SHAPE[None, :]
        counts = rng.poisson(mean) if poisson else mean
        stamps = (
            dates.to_numpy()[:, None] + np.arange(24)[None, :] * np.timedelta64(1, "h")
        ).ravel()
        frames.append(
            pd.DataFrame({"site_id": site, "timestamp": stamps, "arrivals": counts.ravel()})
        )
    return pd.concat(frames, ignore_index=True)


def test_nowcast_equals_projection_when_every_day_has_the_same_shape():
    hourly = hourly_frame()
    as_of = START + pd.Timedelta(days=90, hours=10)
    row = nowcast_today(hourly, as_of, FAST).iloc[0]
    total = 200 * (1.2 if as_of.dayofweek == 0 else 1.0)
    assert row["arrivals_so_far"] == pytest.approx(total * SHAPE[:10].sum())
    assert row["usual_share"] == pytest.approx(SHAPE[:10].sum())
    assert row["projection"] == pytest.approx(total)
    assert row["prior"] == pytest.approx(total)
    assert row["mean"] == pytest.approx(row["projection"], rel=1e-5)
    assert row["tomorrow_mean"] == pytest.approx(row["tomorrow_prior"])


def test_gamma_poisson_mean_when_parameters_are_set_by_hand():
    rows = pd.DataFrame(
        {"hour": [10], "observed": [60.0], "share": [0.25], "prior": [200.0], "prior_sdlog": [0.1]}
    )
    model = GammaPoissonNowcaster()
    model.params_ = {10: (2.0, 1.0)}  # phi 2, kappa 1
    a = 1 / 0.1**2
    expected = 60 + 200 * 0.75 * (a + 60 / 2) / (a + 200 * 0.25 / 2)
    assert model.mean(rows)[0] == pytest.approx(expected)
    q = model.quantiles(rows, np.array([0.05, 0.5, 0.95]))[0]
    assert 60 < q[0] < q[1] < q[2]
    assert model.p_above(rows, np.array([59.0]))[0] == 1.0


def test_combiners_raise_not_fitted_when_predicting_before_fit():
    rows = pd.DataFrame(
        {"hour": [10], "observed": [60.0], "share": [0.25], "prior": [200.0], "prior_sdlog": [0.1]}
    )
    for model in (ShrinkageNowcaster(), GammaPoissonNowcaster()):
        with pytest.raises(NotFittedError):
            model.mean(rows)
    with pytest.raises(NotFittedError):
        TomorrowUpdate().predict(np.array([1.0]), np.array([0.0]))
    with pytest.raises(NotFittedError):
        DayShape().share("a", START, 10)


def test_tomorrow_update_keeps_rho_in_unit_interval_when_errors_are_extreme():
    x = np.array([0.1, -0.2, 0.05])
    assert TomorrowUpdate().fit(x, 3 * x).rho_ == 1.0
    assert TomorrowUpdate().fit(x, -x).rho_ == 0.0
    assert TomorrowUpdate().fit(x, 0.5 * x).rho_ == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["shrinkage", "empirical", "bayes"])
def test_nowcast_ignores_arrivals_from_the_as_of_hour_on_when_they_are_perturbed(method):
    hourly = hourly_frame(noise=0.1, poisson=True)
    as_of = START + pd.Timedelta(days=90, hours=10, minutes=30)
    options = NowcastOptions(prior="weekday", method=method, calibration_days=28)
    base = nowcast_today(hourly, as_of, options)
    later = hourly["timestamp"] >= as_of.floor("h")
    perturbed = hourly.copy()
    perturbed.loc[later, "arrivals"] = perturbed.loc[later, "arrivals"] * 3 + 5
    pd.testing.assert_frame_equal(nowcast_today(perturbed, as_of, options), base)
    truncated = hourly[~later]
    pd.testing.assert_frame_equal(nowcast_today(truncated, as_of, options), base)


def test_usual_shares_use_only_earlier_days_when_the_day_changes():
    hourly = hourly_frame(noise=0.1, poisson=True)
    matrix = day_matrix(hourly)
    day = ("a", START + pd.Timedelta(days=80))
    changed = matrix.copy()
    changed.loc[day, 0:12] = 100.0
    assert usual_shares(changed).loc[day].equals(usual_shares(matrix).loc[day])
    shape = DayShape().fit(matrix[matrix.index.get_level_values("date") < day[1]])
    assert shape.share("a", day[1], 10) == pytest.approx(usual_shares(matrix).loc[day, 10])


def test_quantiles_are_monotone_and_above_arrivals_when_nowcasting_each_hour():
    hourly = hourly_frame(noise=0.08, poisson=True, sites=("a", "b"))
    for method in ("shrinkage", "empirical", "bayes"):
        options = NowcastOptions(prior="weekday", method=method, calibration_days=28)
        for hour in (0, 8, 13, 20):
            out = nowcast_today(hourly, START + pd.Timedelta(days=95, hours=hour), options)
            assert list(out["site_id"]) == ["a", "b"]
            assert (out["q0.05"] <= out["q0.5"]).all()
            assert (out["q0.5"] <= out["q0.95"]).all()
            assert (out["q0.05"] >= out["arrivals_so_far"]).all()
            assert out["p_surge"].between(0, 1).all()


@pytest.mark.parametrize("method", ["shrinkage", "empirical", "bayes"])
def test_interval_narrows_when_the_day_goes_on(method):
    hourly = hourly_frame(days=130, noise=0.08, poisson=True)
    options = NowcastOptions(prior="weekday", method=method, calibration_days=56)
    widths = []
    for hour in (6, 12, 18, 22):
        out = nowcast_today(hourly, START + pd.Timedelta(days=125, hours=hour), options)
        widths.append(float(out["q0.95"].iloc[0] - out["q0.05"].iloc[0]))
    assert widths == sorted(widths, reverse=True)


def test_nowcast_raises_data_error_when_hours_before_as_of_are_missing():
    hourly = hourly_frame()
    with pytest.raises(DataValueError, match="no arrivals for"):
        nowcast_today(hourly, START + pd.Timedelta(days=100, hours=3), FAST)


def test_loader_reads_day_and_hour_columns_when_time_is_split():
    raw = pd.DataFrame(
        {"day": ["2024-01-01", "2024-01-01"], "Hour": ["0", "1"], "Arrivals": ["3", "4"]},
        index=pd.RangeIndex(1, 3, name="row"),
    )
    cols = HourlyColumns(site=None, time="Hour", date="day", target="arrivals", site_name="x")
    out = to_hourly_frame(raw, cols)
    assert list(out["timestamp"]) == [START, START + pd.Timedelta(hours=1)]
    assert list(out["arrivals"]) == [3.0, 4.0]
    assert set(out["site_id"]) == {"x"}


@pytest.mark.parametrize(
    ("cells", "error", "text"),
    [
        ({"timestamp": ["2024-01-01 00:00", "2024-01-01 00:00"]}, DataValueError, "row 2"),
        ({"arrivals": ["3", "-1"]}, DataValueError, "row 2, column 'arrivals'"),
        ({"timestamp": ["2024-01-01 00:00", "soon"]}, DataValueError, "cannot read the time"),
        ({"count": ["1", "2"]}, SchemaError, "no column 'arrivals'"),
    ],
)
def test_loader_raises_one_line_data_error_when_a_value_is_bad(cells, error, text):
    data = {
        "site_id": ["a", "a"],
        "timestamp": ["2024-01-01 00:00", "2024-01-01 01:00"],
        "arrivals": ["3", "4"],
    }
    data.update(cells)
    if "count" in cells:
        del data["arrivals"]
    raw = pd.DataFrame(data, index=pd.RangeIndex(1, 3, name="row"))
    with pytest.raises(error, match=text) as info:
        to_hourly_frame(raw, path="f.csv")
    assert "\n" not in str(info.value) and "f.csv" in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forecasting", "nowcast", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_prints_json_per_site_when_input_is_good(tmp_path):
    path = tmp_path / "hourly.csv"
    hourly_frame(noise=0.08, poisson=True, sites=("a", "b")).to_csv(path, index=False)
    as_of = f"{START + pd.Timedelta(days=95):%Y-%m-%d} 10:00"
    done = _cli(
        "--data",
        str(path),
        "--as-of",
        as_of,
        "--format",
        "json",
        "--calibration-days",
        "28",
        "--prior",
        "weekday",
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert [r["site_id"] for r in records] == ["a", "b"]
    for key in (
        "arrivals_so_far",
        "usual_share",
        "mean",
        "q0.05",
        "q0.95",
        "p_surge",
        "surge_line",
        "tomorrow_mean",
    ):
        assert key in records[0]
    assert records[0]["as_of"] == as_of


def test_cli_exits_2_with_one_line_when_as_of_is_bad(tmp_path):
    path = tmp_path / "hourly.csv"
    hourly_frame(days=70).to_csv(path, index=False)
    done = _cli("--data", str(path), "--as-of", "tomorrow morning")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--as-of" in done.stderr


def test_cli_exits_2_naming_the_file_when_it_is_missing(tmp_path):
    from typer.testing import CliRunner

    from forecasting.cli import app

    missing = tmp_path / "nope.csv"
    done = CliRunner().invoke(app, ["nowcast", "--data", str(missing), "--as-of", "2024-03-01"])
    assert done.exit_code == 2
    assert "nope.csv" in done.output


def test_weekday_prior_is_the_mean_of_eight_earlier_same_weekdays_when_issued():
    from forecasting.nowcast.prior import weekday_priors

    days = pd.date_range(START, periods=70)
    totals = pd.Series(np.arange(70, dtype=float), index=pd.MultiIndex.from_product([["a"], days]))
    totals.index.names = ["site_id", "date"]
    out = weekday_priors(totals, days[60], days[61]).set_index("date")
    # day 60's earlier same weekdays: 53, 46, ..., 4 (eight of them)
    assert out.loc[days[60], "prior"] == pytest.approx(np.mean(np.arange(4, 60, 7)))
    assert out.loc[days[60], "next_prior"] == pytest.approx(np.mean(np.arange(5, 61, 7)))


def test_surge_lines_when_totals_are_known():
    from forecasting.nowcast.surge import flat_line, weekday_line

    days = pd.date_range(START, periods=400)
    totals = pd.Series(np.where(days.dayofweek == 0, 120.0, 100.0), index=days)
    assert flat_line(totals) == 120.0
    assert weekday_line(totals, pd.Timestamp("2025-02-03")) == pytest.approx(120.0)
    assert weekday_line(totals, pd.Timestamp("2025-02-04")) == pytest.approx(100.0)


def test_nowcast_runs_with_a_registry_model_prior_when_history_is_long_enough():
    hourly = hourly_frame(noise=0.08, poisson=True)
    options = NowcastOptions(prior="ets", calibration_days=28, country="US", subdiv=None)
    out = nowcast_today(hourly, START + pd.Timedelta(days=95, hours=13), options)
    assert out["method"].iloc[0] == "shrinkage+ets"
    assert 150 < out["prior"].iloc[0] < 300 and 150 < out["mean"].iloc[0] < 300
