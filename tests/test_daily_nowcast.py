"""`daily` with hourly arrivals: today's level from the nowcast (horizon 0), no look-ahead.

Synthetic hourly arrivals for two sites (a weekday level times a fixed day shape, Poisson),
their daily totals, a seasonal-naive model; the CLI tests train a champion in a temporary
MLflow SQLite store and give the hourly file as both --data (--resample daily) and --hourly.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.config import Config, EscalationConfig, SiteSettings
from forecasting.daily import NowcastInputError, daily_warnings
from forecasting.errors import DataError
from forecasting.escalation import WarningHistory
from forecasting.escalation.levels import recommend_levels
from forecasting.models.naive import SeasonalNaive
from forecasting.nowcast import NowcastOptions

START = pd.Timestamp("2024-01-01")
DAYS = 400
SHAPE = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 7, 6, 6, 6, 6, 5, 4, 4, 3, 2], float)
SHAPE = SHAPE / SHAPE.sum()
STAMP = START + pd.Timedelta(days=380, hours=10)  # a Saturday, 10:00
DAY = STAMP.normalize()
CFG = Config(sites={"A": SiteSettings(beds=400), "B": SiteSettings(beds=400)})
FAST = NowcastOptions(prior="weekday", calibration_days=56)
runner = CliRunner()


def hourly_frame(days: int = DAYS, sites: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    """Hourly arrivals: a weekday level (Mondays busier) times a fixed day shape, Poisson."""
    rng = np.random.default_rng(5)
    frames = []
    for k, site in enumerate(sites):
        dates = pd.date_range(START, periods=days)
        level = (200 + 20 * k) * np.where(dates.dayofweek == 0, 1.2, 1.0)
        level = level * np.exp(0.08 * rng.standard_normal(days))
        counts = rng.poisson(level[:, None] * SHAPE[None, :]).astype(float)
        stamps = (dates.to_numpy()[:, None] + np.arange(24) * np.timedelta64(1, "h")).ravel()
        frames.append(
            pd.DataFrame({"site_id": site, "timestamp": stamps, "arrivals": counts.ravel()})
        )
    return pd.concat(frames, ignore_index=True)


def daily_frame(hourly: pd.DataFrame) -> pd.DataFrame:
    """Daily totals of the hourly frame (complete days)."""
    day = hourly["timestamp"].dt.normalize().rename("date")
    out = hourly.groupby(["site_id", day])["arrivals"].sum().reset_index()
    return out.rename(columns={"arrivals": "attendances"})


def run(hourly: pd.DataFrame, daily: pd.DataFrame | None = None, cfg: Config = CFG, **kw):
    daily = daily_frame(hourly) if daily is None else daily
    model = SeasonalNaive().fit(daily[daily["date"] < DAY])
    return daily_warnings(daily, model, cfg, as_of=str(STAMP), hourly=hourly, nowcast=FAST, **kw)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return hourly_frame()


@pytest.fixture(scope="module")
def result(hourly):
    return run(hourly)


def test_nowcast_warnings_when_hourly_given_add_today_at_horizon_zero_flagged_nowcast(
    hourly, result
):
    w = result.warnings
    assert result.as_of == DAY and result.as_of_time == STAMP
    assert w.groupby("site_id")["horizon"].apply(list).to_dict() == {
        s: list(range(8)) for s in ("A", "B")
    }
    today = w[w["horizon"] == 0]
    assert (today["date"] == DAY).all() and (w["as_of"] == DAY).all()
    assert today["nowcast"].all() and not w.loc[w["horizon"] > 0, "nowcast"].any()
    known = hourly[(hourly["timestamp"] >= DAY) & (hourly["timestamp"] < STAMP)]
    so_far = known.groupby("site_id")["arrivals"].sum()
    assert today.set_index("site_id")["arrivals_so_far"].to_dict() == so_far.to_dict()
    assert today["usual_share_by_now"].between(0.1, 0.4).all()
    assert today["reasons"].map(lambda r: r[0].startswith("Nowcast at 10:00")).all()
    assert w.loc[w["horizon"] > 0, "arrivals_so_far"].isna().all()


def test_nowcast_warnings_when_later_arrivals_and_days_change_nothing_changes(hourly, result):
    hourly_changed = hourly.copy()
    hourly_changed.loc[hourly_changed["timestamp"] >= STAMP, "arrivals"] *= 50
    daily_changed = daily_frame(hourly_frame())
    daily_changed.loc[daily_changed["date"] >= DAY, "attendances"] = 99_999.0
    again = run(hourly_changed, daily=daily_changed)
    pd.testing.assert_frame_equal(result.warnings, again.warnings)
    pd.testing.assert_frame_equal(result.forecast, again.forecast)


def test_today_level_when_nowcast_gives_p_surge_follows_the_usual_level_rules(result):
    today = result.warnings[result.warnings["horizon"] == 0]
    expected = recommend_levels(today["p_surge"], today["p_surge_high"], today["occupancy"], CFG)
    assert today["level"].tolist() == expected.tolist()
    assert (today["surge_kind"] == "weekday").all()
    assert np.allclose(today["surge_threshold"], today["weekday_line"])
    assert np.allclose(today["p_surge"], today["p_weekday"])
    assert (today["occupancy"] > 0).all() and (today["admissions_mean"] > 0).all()


def test_today_p_surge_when_levels_follow_capacity_lines_refers_to_the_capacity_line(hourly):
    flat = CFG.model_copy(update={"escalation": EscalationConfig(weekday_adjusted_lines=False)})
    w = run(hourly, cfg=flat).warnings
    today = w[w["horizon"] == 0]
    assert (today["surge_kind"] == "capacity").all()
    assert np.allclose(today["surge_threshold"], today["capacity_line"])
    assert np.allclose(today["p_surge"], today["p_capacity"])


def test_forecast_days_when_today_is_nowcast_roll_the_model_through_today(result):
    w = result.warnings
    assert result.forecast["cutoff"].unique().tolist() == [DAY]
    today = w[w["horizon"] == 0].set_index("site_id")["attendances_mean"]
    week_on = w[w["horizon"] == 7].set_index("site_id")["attendances_mean"]
    pd.testing.assert_series_equal(today, week_on, check_names=False)  # weekly naive


def test_nowcast_warnings_when_stored_in_the_history_keep_horizon_zero(result, tmp_path):
    history = WarningHistory(tmp_path / "h.db")
    history.append(result.warnings, issued_at=pd.Timestamp("2025-01-01"), model_ref="m")
    stored = history.read()
    assert sorted(stored["horizon"].unique()) == list(range(8))
    assert len(stored) == len(result.warnings)


def test_daily_warnings_when_history_has_nowcast_rows_recalibrates_without_them(hourly):
    daily = daily_frame(hourly)
    model = SeasonalNaive().fit(daily)
    runs = [daily_warnings(daily, model, CFG, as_of=d).warnings for d in daily["date"][300:360]]
    issued = pd.concat(runs, ignore_index=True)
    fake = issued.assign(horizon=0, p_capacity_raw=1.0, p_weekday_raw=1.0)
    cfg = CFG.model_copy(update={"escalation": EscalationConfig(recalibrate_min_surges=3)})
    day = DAY - pd.Timedelta(days=1)
    plain = daily_warnings(daily, model, cfg, as_of=day, issued=issued).warnings
    mixed = pd.concat([issued, fake], ignore_index=True)
    with_fake = daily_warnings(daily, model, cfg, as_of=day, issued=mixed).warnings
    pd.testing.assert_frame_equal(plain, with_fake)


@pytest.mark.parametrize(
    ("as_of", "hourly_given", "match"),
    [
        ("2025-01-15 10:00", False, "has a time of day"),
        (pd.Timestamp("2025-01-15 10:00"), False, "has a time of day"),
        ("2025-01-15", True, "has no time of day"),
    ],
)
def test_daily_warnings_when_time_and_hourly_do_not_go_together_raise(
    hourly, as_of, hourly_given, match
):
    daily = daily_frame(hourly)
    with pytest.raises(NowcastInputError, match=match):
        daily_warnings(
            daily,
            SeasonalNaive().fit(daily),
            CFG,
            as_of=as_of,
            hourly=hourly if hourly_given else None,
        )


def test_daily_warnings_when_as_of_is_a_midnight_timestamp_without_hourly_keeps_days(hourly):
    daily = daily_frame(hourly)
    w = daily_warnings(daily, SeasonalNaive().fit(daily), CFG, as_of=DAY).warnings
    assert w["horizon"].min() == 1 and "nowcast" not in w


def test_nowcast_warnings_when_hourly_has_a_site_the_model_never_saw_raise(hourly):
    extra = hourly_frame(sites=("A", "B", "Z"))
    daily = daily_frame(hourly)
    with pytest.raises(NowcastInputError, match="Z in the hourly file are not in the model"):
        run(extra, daily=daily)


def test_nowcast_warnings_when_hourly_lacks_a_site_of_the_daily_data_raise(hourly):
    only_a = hourly[hourly["site_id"] == "A"]
    with pytest.raises(NowcastInputError, match="B have daily data but no hourly arrivals"):
        run(only_a, daily=daily_frame(hourly))


def test_nowcast_warnings_when_hourly_ends_before_the_as_of_time_raise(hourly):
    short = hourly[hourly["timestamp"] < STAMP - pd.Timedelta(hours=4)]
    with pytest.raises(NowcastInputError, match=r"end at .* 05:00, before the as-of time"):
        run(short, daily=daily_frame(hourly))


def test_nowcast_warnings_when_daily_data_stop_before_yesterday_raise(hourly):
    daily = daily_frame(hourly)
    daily = daily[daily["date"] < DAY - pd.Timedelta(days=3)]
    with pytest.raises(DataError, match=r"needs the daily data of site 'A' up to"):
        run(hourly, daily=daily)


# ---------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def folder(tmp_path_factory, hourly):
    """Hourly file (also the daily data), site settings, a trained snaive champion."""
    path = tmp_path_factory.mktemp("daily_nowcast")
    hourly.to_csv(path / "hourly.csv", index=False)
    (path / "sites.yaml").write_text("sites:\n  A:\n    beds: 400\n  B:\n    beds: 400\n")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        train = ["train", "--data", "hourly.csv", "--resample", "daily"]
        train += ["--date-col", "timestamp", "--target-col", "arrivals"]
        out = runner.invoke(app, [*train, "--model", "snaive", "--windows", "2"])
        assert out.exit_code == 0, out.output
        yield path


def _daily(*args: str):
    base = ["daily", "--data", "hourly.csv", "--resample", "daily", "--nowcast-prior", "weekday"]
    return runner.invoke(app, [*base, *args])


def _one_error_line(out) -> str:
    assert out.exit_code == 2, out.output
    lines = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in out.output
    return lines[0]


def test_daily_json_when_hourly_file_is_also_the_data_gives_today_with_arrivals(folder):
    before = hashlib.sha256((folder / "hourly.csv").read_bytes()).hexdigest()
    out = _daily("--hourly", "hourly.csv", "--as-of", f"{STAMP:%Y-%m-%d %H:%M}", "--format",
                 "json", "--out", "w.json", "--history", "h.db")  # fmt: skip
    assert out.exit_code == 0, out.output
    records = json.loads((folder / "w.json").read_text())
    assert len(records) == 16
    today = [r for r in records if r["horizon"] == 0]
    assert {r["site_id"] for r in today} == {"A", "B"}
    assert all(r["nowcast"] is True and r["date"] == f"{DAY:%Y-%m-%d}" for r in today)
    assert all(r["arrivals_so_far"] > 0 and 0 < r["usual_share_by_now"] < 1 for r in today)
    later = [r for r in records if r["horizon"] > 0]
    assert all(r["nowcast"] is False and r["arrivals_so_far"] is None for r in later)
    assert {r["as_of"] for r in records} == {f"{DAY:%Y-%m-%d}"}
    assert hashlib.sha256((folder / "hourly.csv").read_bytes()).hexdigest() == before
    stored = WarningHistory(folder / "h.db").read()
    assert sorted(stored["horizon"].unique()) == list(range(8))


def test_daily_table_when_hourly_given_titles_the_run_with_the_as_of_time(folder):
    out = _daily("--hourly", "hourly.csv", "--as-of", f"{STAMP:%Y-%m-%d %H:%M}", "--no-history")
    assert out.exit_code == 0, out.output
    assert "10:00" in out.stdout and "nowcast" in out.stdout


def test_daily_when_as_of_has_a_time_without_hourly_exits_2(folder):
    line = _one_error_line(_daily("--as-of", "2025-01-15 10:00", "--no-history"))
    assert "time of day" in line and "--hourly" in line


def test_daily_when_as_of_is_neither_date_nor_time_exits_2(folder):
    line = _one_error_line(_daily("--hourly", "hourly.csv", "--as-of", "noon", "--no-history"))
    assert "--as-of 'noon'" in line


def test_daily_when_hourly_has_a_site_the_model_never_saw_exits_2(folder, hourly):
    extra = pd.concat([hourly, hourly[hourly["site_id"] == "A"].assign(site_id="Z")])
    extra.to_csv(folder / "extra.csv", index=False)
    args = ["--date-col", "timestamp", "--target-col", "arrivals", "--hourly", "extra.csv"]
    line = _one_error_line(_daily(*args, "--as-of", f"{STAMP:%Y-%m-%d %H:%M}", "--no-history"))
    assert "Z" in line and "training data" in line


def test_daily_when_hourly_file_stops_before_the_as_of_day_exits_2(folder):
    late = f"{START + pd.Timedelta(days=DAYS + 3):%Y-%m-%d} 10:00"
    line = _one_error_line(_daily("--hourly", "hourly.csv", "--as-of", late, "--no-history"))
    assert "needs the daily data" in line or "hourly arrivals" in line
