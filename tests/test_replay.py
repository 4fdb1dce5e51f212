"""The replay of the morning job: no look-ahead, contract columns, cache, exact scores, CLI."""

import subprocess
import sys
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from forecasting.config import Config, EscalationConfig, SiteSettings
from forecasting.errors import DataError
from forecasting.escalation.recalibrate import learn_recalibration
from forecasting.models.naive import SeasonalNaive
from forecasting.replay import REPLAY_COLUMNS, issue_days, replay, score_replay
from forecasting.replay.policy import choose_cutoff

DAYS = pd.date_range("2024-01-01", periods=420, freq="D")
CFG = Config(sites={"A": SiteSettings(beds=400), "B": SiteSettings(beds=400)})


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for site, base in (("A", 100.0), ("B", 60.0)):
        y = base * (1 + 0.15 * (DAYS.dayofweek == 0)) + rng.normal(0, 5, len(DAYS))
        parts.append(pd.DataFrame({"site_id": site, "date": DAYS, "attendances": y.round()}))
    return pd.concat(parts, ignore_index=True)


class SpyNaive(SeasonalNaive):
    """Seasonal naive that records the last day of every history it is given."""

    seen: ClassVar[list[pd.Timestamp]] = []

    def _fit(self, history: pd.DataFrame) -> None:
        SpyNaive.seen.append(pd.Timestamp(history["date"].max()))
        super()._fit(history)

    def _update(self, history: pd.DataFrame) -> None:
        SpyNaive.seen.append(pd.Timestamp(history["date"].max()))
        super()._update(history)


def test_replay_when_run_gives_every_issue_day_only_data_up_to_it():
    SpyNaive.seen = []
    result = replay(_frame(), {"spy": SpyNaive()}, CFG, days=10, refit_every=4)
    assert SpyNaive.seen == list(DAYS[-10:])
    assert result.issued == list(DAYS[-10:])


def test_replay_when_later_days_change_earlier_warnings_stay_identical():
    frame = _frame()
    changed = frame.copy()
    later = changed["date"] > DAYS[-6]
    changed.loc[later, "attendances"] *= 3
    first = replay(frame, {"snaive": SeasonalNaive()}, CFG, days=12, refit_every=5).warnings
    second = replay(changed, {"snaive": SeasonalNaive()}, CFG, days=12, refit_every=5).warnings
    early = first["issued"] <= DAYS[-6]
    cols = [c for c in REPLAY_COLUMNS if c != "y"]
    pd.testing.assert_frame_equal(
        first.loc[early, cols].reset_index(drop=True),
        second.loc[second["issued"] <= DAYS[-6], cols].reset_index(drop=True),
    )
    late = first["issued"] > DAYS[-6]
    assert not first.loc[late, "attendances_mean"].equals(second.loc[late, "attendances_mean"])


def test_replay_when_run_writes_contract_rows_for_each_site_issue_day_and_horizon():
    result = replay(_frame(), {"snaive": SeasonalNaive()}, CFG, days=9, refit_every=3)
    w = result.warnings
    assert list(w.columns) == list(REPLAY_COLUMNS)
    assert len(w) == 2 * 9 * 7
    assert set(w["horizon"]) == set(range(1, 8))
    assert (w["date"] - w["issued"]).dt.days.eq(w["horizon"]).all()
    assert set(w["surge_kind"]) == {"weekday"}
    # target days beyond the data have no observation; the others carry the truth
    beyond = w["date"] > DAYS[-1]
    assert w.loc[beyond, "y"].isna().all() and w.loc[~beyond, "y"].notna().all()
    assert int(beyond.sum()) == 2 * (7 + 6 + 5 + 4 + 3 + 2 + 1)


def test_replay_when_lines_are_flat_names_the_capacity_kind():
    cfg = CFG.model_copy(update={"escalation": EscalationConfig(weekday_adjusted_lines=False)})
    w = replay(_frame(), {"snaive": SeasonalNaive()}, cfg, days=3, refit_every=3).warnings
    assert set(w["surge_kind"]) == {"capacity"}


def test_replay_when_sites_have_no_beds_replays_surge_risk_only():
    w = replay(_frame(), {"snaive": SeasonalNaive()}, Config(), days=3, refit_every=3).warnings
    assert w["occupancy"].isna().all()
    assert w["level"].between(1, 4).all()


def test_replay_when_cache_holds_a_chunk_does_not_fit_again(tmp_path):
    frame = _frame()
    SpyNaive.seen = []
    first = replay(frame, {"spy": SpyNaive()}, CFG, days=6, refit_every=3, cache_dir=tmp_path)
    assert len(SpyNaive.seen) == 6 and len(list(tmp_path.glob("*.parquet"))) == 2
    SpyNaive.seen = []
    second = replay(frame, {"spy": SpyNaive()}, CFG, days=6, refit_every=3, cache_dir=tmp_path)
    assert SpyNaive.seen == []
    pd.testing.assert_frame_equal(first.warnings, second.warnings)


def test_issue_days_when_history_too_short_raises_naming_the_fix():
    with pytest.raises(DataError, match="fewer --days"):
        issue_days(_frame(), 400)


def _hand_replay() -> pd.DataFrame:
    # one site, 4 target days; capacity line 100. Days 2 and 4 are capacity surges; day 2
    # warned 2 days ahead, day 3 warned (a false alarm), day 4 missed.
    rows = []
    issued = pd.Timestamp("2025-01-01")
    for day, y, level, p in ((1, 90, 1, 0.1), (2, 120, 3, 0.8), (3, 95, 3, 0.6), (4, 130, 2, 0.3)):
        rows.append(
            {
                "site_id": "A",
                "issued": issued,
                "date": issued + pd.Timedelta(days=day),
                "horizon": day,
                "model": "m",
                "level": level,
                "p_surge": p,
                "surge_line": 100.0,
                "capacity_line": 100.0,
                "p_capacity": p,
                "weekday_line": 125.0,
                "p_weekday": p / 2,
                "y": float(y),
            }
        )
    return pd.DataFrame(rows)


def test_score_replay_when_hand_made_gives_exact_figures():
    s = score_replay(_hand_replay(), "capacity", level=3).set_index("site_id").loc["all"]
    assert s["surge_days"] == 2 and s["warned_days"] == 2
    assert s["precision"] == 0.5 and s["recall"] == 0.5
    assert s["false_alarms_per_month"] == pytest.approx(1 * (365.25 / 12) / 4)
    assert s["lead_median"] == 2.0
    # Brier of p against outcomes (0,1,0,1) = (0.01+0.04+0.36+0.49)/4; base rate 0.5 -> 0.25
    assert s["brier"] == pytest.approx(0.225)
    assert s["brier_skill"] == pytest.approx(1 - 0.225 / 0.25)
    assert s["rule"] == "level>=3"


def test_score_replay_when_weekday_kind_uses_its_own_line_and_probability():
    s = score_replay(_hand_replay(), "weekday", probability=0.3).set_index("site_id").loc["all"]
    # only day 4 (130) is above the weekday line 125; P = p/2 reaches 0.3 on days 2 and 3
    assert s["surge_days"] == 1 and s["warned_days"] == 2
    assert s["recall"] == 0.0 and s["precision"] == 0.0
    assert s["rule"] == "P>=0.30"


def test_choose_cutoff_when_budget_given_picks_lowest_cutoff_within_it():
    rows = _hand_replay()
    # 4 scored days: one false alarm is 7.6 per month. P>=0.15..0.3 warns days 2-4 (both
    # surges, one false alarm); P>=0.65 warns day 2 only (no false alarm).
    policy = choose_cutoff(rows, "capacity", budget=1.0)
    assert policy.cutoff == 0.65 and policy.met
    assert policy.recall == 0.5 and policy.false_alarms_per_month == 0.0
    loose = choose_cutoff(rows, "capacity", budget=8.0)
    assert loose.cutoff == 0.15 and loose.recall == 1.0


def test_learn_recalibration_when_outcomes_known_uses_only_days_up_to_as_of():
    n_days = 120
    rng = np.random.default_rng(1)
    as_of = pd.date_range("2025-01-01", periods=n_days, freq="D")
    issued = pd.DataFrame(
        {
            "site_id": "A",
            "as_of": np.repeat(as_of, 2),
            "horizon": np.tile([1, 2], n_days),
            "p_capacity_raw": 0.5,
            "capacity_line": 100.0,
        }
    )
    issued["date"] = issued["as_of"] + pd.to_timedelta(issued["horizon"], unit="D")
    days = pd.date_range("2025-01-02", periods=n_days + 1, freq="D")
    y = np.where(rng.random(len(days)) < 0.2, 120.0, 80.0)
    actuals = pd.DataFrame({"site_id": "A", "date": days, "attendances": y})
    cut = as_of[100]
    recal = learn_recalibration(issued, actuals, cut, min_surges=5)
    # the raw 0.5 is pulled towards the observed surge rate of the days up to the cut
    seen = actuals[actuals["date"] <= cut]
    rate = float((seen["attendances"] > 100).mean())
    assert abs(float(recal.apply("capacity", np.array([0.5]), np.array([1]))[0]) - rate) < 0.05
    assert "weekday" not in recal.coefficients  # no raw weekday probability: not learned
    # outcomes after the cut change nothing
    later = actuals.assign(attendances=np.where(actuals["date"] > cut, 500.0, y))
    again = learn_recalibration(issued, later, cut, min_surges=5)
    assert again.coefficients == recal.coefficients
    # too few surges: nothing learned
    assert learn_recalibration(issued, actuals, as_of[5], min_surges=5).coefficients == {}


def test_replay_when_earlier_outcomes_known_recalibrates_later_days():
    cfg = CFG.model_copy(update={"escalation": EscalationConfig(recalibrate_min_surges=3)})
    w = replay(_frame(), {"snaive": SeasonalNaive()}, cfg, days=60, refit_every=30).warnings
    first, last = w[w["issued"] == w["issued"].min()], w[w["issued"] == w["issued"].max()]
    assert (first["p_capacity"] == first["p_capacity_raw"]).all()  # nothing known yet
    assert (last["p_capacity"] != last["p_capacity_raw"]).any()
    assert (w["p_surge"] == w["p_weekday"]).all()  # levels follow weekday surges


def test_warnings_replay_cli_when_run_writes_contract_csv_and_picture(tmp_path):
    csv = tmp_path / "demand.csv"
    _frame().to_csv(csv, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "forecasting", "warnings", "replay", "--data", str(csv),
         "--days", "8", "--refit-every", "4", "--model", "snaive", "--out", "r.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "r.csv")
    assert list(out.columns) == list(REPLAY_COLUMNS)
    assert len(out) == 2 * 8 * 7
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert "recall" in done.stdout


def test_warnings_replay_cli_when_out_is_a_folder_exits_2_with_one_line(tmp_path):
    csv = tmp_path / "demand.csv"
    _frame().to_csv(csv, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "forecasting", "warnings", "replay", "--data", str(csv),
         "--out", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "folder" in done.stderr


def test_replay_when_chunks_run_on_two_processes_equals_serial(tmp_path):
    from forecasting.executors.processes import ProcessExecutor
    from forecasting.models.ets import ETSForecaster

    frame = _frame()
    steps: list[int] = []
    serial = replay(frame, {"ets": ETSForecaster()}, CFG, days=8, refit_every=3)
    with ProcessExecutor(2) as ex:
        parallel = replay(
            frame,
            {"ets": ETSForecaster()},
            CFG,
            days=8,
            refit_every=3,
            cache_dir=tmp_path,
            progress=steps.append,
            executor=ex,
        )
    pd.testing.assert_frame_equal(serial.warnings, parallel.warnings, check_exact=True)
    assert len(list(tmp_path.glob("*.parquet"))) == 3  # chunks of 3, 3 and 2 issue days
    assert sum(steps) == 2 * 8  # forecasts (8 issue days) and warnings (8 issue days)
