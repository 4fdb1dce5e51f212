"""The SQLite warning history: round trip, overlapping runs, crashes mid-append, bad files."""

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import SchemaError
from forecasting.escalation import WARNING_COLUMNS, WarningHistory
from forecasting.escalation.errors import WarningHistoryError
from forecasting.escalation.history import ADDED_IN_3

ISSUED = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def _warnings(n_days: int = 7, site: str = "RAA", level: int = 2) -> pd.DataFrame:
    as_of = pd.Timestamp("2025-03-02")
    dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=n_days, freq="D")
    frame = pd.DataFrame(
        {
            "site_id": site,
            "as_of": as_of,
            "date": dates,
            "horizon": range(1, n_days + 1),
            "model": "ensemble",
            "level": level,
            "level_name": "signs of pressure",
            "attendances_mean": 250.5,
            "attendances_q0.05": 210.0,
            "attendances_q0.95": 300.25,
            "surge_threshold": 290.0,
            "surge_threshold_high": 310.0,
            "p_surge": 0.21,
            "p_surge_high": 0.04,
            "surge_kind": "weekday",
            "capacity_line": 280.0,
            "p_capacity": 0.3,
            "weekday_line": 290.0,
            "p_weekday": 0.21,
            "p_capacity_raw": 0.25,
            "p_weekday_raw": 0.21,
            "admissions_mean": 60.0,
            "electives_planned": 20,
            "electives_deferrable": 13,
            "electives_to_review": 0,
            "beds": 500.0,
            "occupancy": 0.88,
            "occupancy_q_high": 0.93,
            "advice": "",
        }
    )
    frame["as_of"] = frame["as_of"].astype("datetime64[ns]")
    frame["reasons"] = [["21% chance attendances exceed the surge line of 290", "Monday"]] * n_days
    return frame[list(WARNING_COLUMNS)]


def test_history_when_bed_pressure_columns_given_reads_them_back(tmp_path):
    store = WarningHistory(tmp_path / "warnings.sqlite")
    frame = _warnings().assign(
        **{"occupancy_q0.05": 0.91, "p_occupancy_ge_0.97": 0.25, "opel_score": 4.0},
        electives_planned=np.nan,
    )
    frame["parameters"] = [{"occupancy": {"value": 0.95, "band": 3, "points": 2.0}}] * len(frame)
    store.append(frame, ISSUED, "m")
    back = store.read()
    assert back["occupancy_q0.05"].tolist() == [0.91] * len(frame)
    assert back["p_occupancy_ge_0.97"].tolist() == [0.25] * len(frame)
    assert back["opel_score"].tolist() == [4.0] * len(frame)
    assert back["parameters"].iloc[0] == {"occupancy": {"value": 0.95, "band": 3, "points": 2.0}}
    assert back["electives_planned"].isna().all()
    assert back["p_occupancy_ge_0.92"].isna().all()


def test_history_when_appended_reads_back_the_same_warnings(tmp_path):
    store = WarningHistory(tmp_path / "warnings.sqlite")
    frame = _warnings()
    run_id = store.append(frame, ISSUED, "models:/ed-demand@champion")
    back = store.read()
    assert list(back.columns) == ["run_id", "issued_at", "model_ref", *WARNING_COLUMNS, *ADDED_IN_3]
    assert back[list(ADDED_IN_3)].isna().all().all()  # no bed-pressure columns in this run
    assert (back["run_id"] == run_id).all()
    assert back["issued_at"].iloc[0] == "2025-03-03T07:00:00+00:00"
    assert back["model_ref"].iloc[0] == "models:/ed-demand@champion"
    pd.testing.assert_frame_equal(
        back[list(WARNING_COLUMNS)], frame, check_dtype=False, check_datetimelike_compat=True
    )


def test_history_when_file_missing_reads_empty_without_creating_it(tmp_path):
    path = tmp_path / "none.sqlite"
    back = WarningHistory(path).read()
    assert back.empty
    assert list(back.columns) == ["run_id", "issued_at", "model_ref", *WARNING_COLUMNS, *ADDED_IN_3]
    assert not path.exists()


def test_history_when_two_threads_append_at_once_keeps_every_run_whole(tmp_path):
    path = tmp_path / "warnings.sqlite"
    errors: list[BaseException] = []

    def writer(site: str) -> None:
        try:
            store = WarningHistory(path)
            for _ in range(8):
                store.append(_warnings(site=site), ISSUED, site)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in ("RAA", "RAB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    back = WarningHistory(path).read()
    assert len(back) == 2 * 8 * 7
    assert back.groupby("run_id").size().eq(7).all()
    assert back.groupby("site_id")["run_id"].nunique().to_dict() == {"RAA": 8, "RAB": 8}


def test_history_when_two_processes_append_at_once_keeps_every_run_whole(tmp_path):
    path = tmp_path / "warnings.sqlite"
    start = time.time() + 3.0  # both processes start appending at the same moment
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from datetime import datetime
        from forecasting.escalation import WarningHistory
        from test_escalation_history import _warnings

        store = WarningHistory({str(path)!r})
        time.sleep(max(0.0, {start} - time.time()))
        for _ in range(10):
            store.append(_warnings(site=sys.argv[1]), datetime(2025, 3, 4), sys.argv[1])
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, site], stderr=subprocess.PIPE)
        for site in ("RAA", "RAB")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    back = WarningHistory(path).read()
    assert back.groupby("model_ref")["run_id"].nunique().to_dict() == {"RAA": 10, "RAB": 10}
    assert back.groupby("run_id").size().eq(7).all()


class _CrashingHistory(WarningHistory):
    """Inserts half the rows, then fails: a run dying in the middle of its append."""

    def _insert_rows(self, con, run_id, rows):
        super()._insert_rows(con, run_id, rows[: len(rows) // 2])
        raise RuntimeError("simulated crash")


def test_history_when_append_fails_midway_rolls_back(tmp_path):
    path = tmp_path / "warnings.sqlite"
    WarningHistory(path).append(_warnings(), ISSUED, "first")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _CrashingHistory(path).append(_warnings(site="RAB"), ISSUED, "second")
    back = WarningHistory(path).read()
    assert len(back) == 7
    assert set(back["model_ref"]) == {"first"}


def test_history_when_process_dies_midway_leaves_no_half_run(tmp_path):
    path = tmp_path / "warnings.sqlite"
    WarningHistory(path).append(_warnings(), ISSUED, "first")
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from datetime import datetime
        from forecasting.escalation import WarningHistory
        from test_escalation_history import _warnings

        class Dying(WarningHistory):
            def _insert_rows(self, con, run_id, rows):
                super()._insert_rows(con, run_id, rows[:3])
                os._exit(9)  # killed mid-transaction: no rollback, no commit

        Dying({str(path)!r}).append(_warnings(site="RAB"), datetime(2025, 3, 4), "dying")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 9, done.stderr.decode()
    store = WarningHistory(path)
    assert set(store.read()["model_ref"]) == {"first"}
    store.append(_warnings(site="RAC"), ISSUED, "after")  # the file is still usable
    assert store.read().groupby("model_ref").size().to_dict() == {"after": 7, "first": 7}


def test_history_when_another_run_holds_the_lock_too_long_says_so(tmp_path):
    path = tmp_path / "warnings.sqlite"
    WarningHistory(path).append(_warnings(), ISSUED, "first")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WarningHistoryError, match=r"locked by another run for over 0\.2 s"):
            WarningHistory(path, timeout=0.2).append(_warnings(), ISSUED, "second")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(WarningHistory(path).read()) == 7


def test_history_error_when_schema_version_is_newer(tmp_path):
    path = tmp_path / "warnings.sqlite"
    store = WarningHistory(path)
    store.append(_warnings(), ISSUED, "first")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(WarningHistoryError, match="schema version 99, this version reads 3"):
        store.read()


def test_history_error_when_file_is_not_sqlite(tmp_path):
    path = tmp_path / "warnings.sqlite"
    path.write_text("site_id,date\nRAA,2025-01-01\n" * 50)
    with pytest.raises(WarningHistoryError) as info:
        WarningHistory(path).append(_warnings(), ISSUED, "x")
    msg = str(info.value)
    assert msg.startswith(f"{path}: not a warning history this version can use")
    assert "Fix: point to another history file or move this one aside." in msg


def test_history_error_when_warnings_lack_a_column(tmp_path):
    with pytest.raises(SchemaError, match="column 'occupancy'"):
        WarningHistory(tmp_path / "w.sqlite").append(
            _warnings().drop(columns="occupancy"), ISSUED, "x"
        )
    assert not (tmp_path / "w.sqlite").exists()


def test_history_when_file_has_schema_1_migrates_and_keeps_old_runs(tmp_path):
    import sqlite3

    from forecasting.escalation.history import ADDED_IN_2, ADDED_IN_3, _sql_name

    path = tmp_path / "old.sqlite"
    store = WarningHistory(path)
    store.append(_warnings(), ISSUED, "old-model")
    con = sqlite3.connect(path)
    for col in (*ADDED_IN_2, *ADDED_IN_3):  # rebuild the version-1 table
        con.execute(f"ALTER TABLE warnings DROP COLUMN {_sql_name(col)}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store.check()  # a version-1 file is usable, not refused
    store.append(_warnings(site="RAB"), ISSUED, "new-model")
    back = store.read()
    assert len(back) == 14
    old, new = back[back["site_id"] == "RAA"], back[back["site_id"] == "RAB"]
    assert old["p_capacity"].isna().all() and (new["p_capacity"] == 0.3).all()
    version = sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0]
    assert version == "3"
