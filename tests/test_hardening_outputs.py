"""Outputs are created with the umask's permissions, staged until success, and named in errors.

Also: user text with Rich markup characters is shown as typed; the history refuses unusable
files before anything is written; OS errors become one line naming the file and the fix.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from forecasting.cli.common import os_error_message
from forecasting.cli.render import show_warnings
from forecasting.escalation import WARNING_COLUMNS, WarningHistory, to_flat, to_records
from forecasting.escalation.errors import WarningHistoryError
from forecasting.io import (
    StagedOutputs,
    atomic_path,
    atomic_write_text,
    check_writable_dir,
    check_writable_file,
    current_umask,
    file_mode,
)
from forecasting.models.naive import SeasonalNaive
from forecasting.report import write_report

ISSUED = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


@pytest.fixture()
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _warnings(site: str = "RAA", level: int = 3, n_days: int = 3) -> pd.DataFrame:
    as_of = pd.Timestamp("2025-03-02")
    frame = pd.DataFrame(
        {
            "site_id": site,
            "as_of": as_of,
            "date": pd.date_range(as_of + pd.Timedelta(days=1), periods=n_days, freq="D"),
            "horizon": range(1, n_days + 1),
            "model": "snaive",
            "level": level,
            "level_name": "major pressure",
            "attendances_mean": 250.5,
            "attendances_q0.05": 210.0,
            "attendances_q0.95": 300.25,
            "surge_threshold": 290.0,
            "surge_threshold_high": 310.0,
            "p_surge": 0.61,
            "p_surge_high": 0.04,
            "surge_kind": "weekday",
            "capacity_line": 280.0,
            "p_capacity": 0.3,
            "weekday_line": 290.0,
            "p_weekday": 0.2,
            "p_capacity_raw": 0.25,
            "p_weekday_raw": 0.2,
            "admissions_mean": 60.0,
            "electives_planned": 20,
            "electives_deferrable": 13,
            "electives_to_review": 5,
            "beds": 500.0,
            "occupancy": 0.93,
            "occupancy_q_high": 0.97,
            "advice": "Review [bold]5[/] electives",
        }
    )
    frame["reasons"] = [[f"[/x] surge at {site}", "[red]Monday[/]"]] * n_days
    return frame[list(WARNING_COLUMNS)]


# --- permissions ---------------------------------------------------------------------------


def test_atomic_write_when_umask_022_creates_0644(tmp_path, umask):
    umask(0o022)
    path = atomic_write_text(tmp_path / "w.json", "{}")
    assert _mode(path) == 0o644


def test_atomic_write_when_umask_027_creates_0640(tmp_path, umask):
    umask(0o027)
    path = atomic_write_text(tmp_path / "w.json", "{}")
    assert _mode(path) == 0o640


def test_staged_outputs_when_committed_use_the_umask(tmp_path, umask):
    umask(0o002)
    with StagedOutputs() as staged:
        staged.write_text(tmp_path / "a.csv", "x\n")
    assert _mode(tmp_path / "a.csv") == 0o664


def test_atomic_path_when_owner_writes_only_drops_group_write_whatever_the_umask(tmp_path, umask):
    umask(0o002)
    with atomic_path(tmp_path / "model.pkl", mode=file_mode(owner_writes_only=True)) as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "model.pkl") == 0o644


def test_current_umask_when_read_leaves_the_umask_unchanged(umask):
    umask(0o037)
    assert current_umask() == 0o037
    assert current_umask() == 0o037


# --- staged outputs ------------------------------------------------------------------------


def test_staged_outputs_when_block_fails_replaces_nothing_and_leaves_no_temp(tmp_path):
    (tmp_path / "a.json").write_text("old a")
    with pytest.raises(RuntimeError), StagedOutputs() as staged:
        staged.write_text(tmp_path / "a.json", "new a")
        staged.write_text(tmp_path / "b.json", "new b")
        raise RuntimeError("history append failed")
    assert (tmp_path / "a.json").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_staged_outputs_when_block_succeeds_renames_every_file(tmp_path):
    (tmp_path / "a.json").write_text("old a")
    with StagedOutputs() as staged:
        staged.write_text(tmp_path / "a.json", "new a")
        staged.write_text(tmp_path / "b.json", "new b")
        assert (tmp_path / "a.json").read_text() == "old a"  # not before the block ends
    assert (tmp_path / "a.json").read_text() == "new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_atomic_path_when_disk_full_raises_enospc_naming_the_target(tmp_path, monkeypatch):
    target = tmp_path / "w.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "new")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.json"]


def test_atomic_path_when_target_is_a_folder_raises_is_a_directory_naming_it(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic_write_text(tmp_path / "out", "x")
    assert info.value.filename == str(tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_check_writable_when_paths_unusable_raise_os_errors_naming_them(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(IsADirectoryError):
        check_writable_file(tmp_path / "dir")
    with pytest.raises(NotADirectoryError):
        check_writable_file(tmp_path / "file" / "w.json")
    with pytest.raises(NotADirectoryError):
        check_writable_dir(tmp_path / "file")
    assert check_writable_file(tmp_path / "new" / "w.json") == tmp_path / "new" / "w.json"


def test_write_report_when_disk_fills_midway_keeps_the_previous_report(tmp_path, monkeypatch):
    dates = pd.date_range("2025-01-01", periods=60, freq="D")
    history = pd.concat(
        pd.DataFrame({"site_id": s, "date": dates, "attendances": 100.0}) for s in ("A", "B")
    )
    forecast = SeasonalNaive().fit(history).predict(7)
    warnings = forecast[["site_id", "date"]].assign(
        level=2,
        surge_threshold=125.0,
        p_surge=0.2,
        occupancy=0.9,
        attendances_mean=forecast["mean"],
        **{"attendances_q0.05": forecast["q0.05"], "attendances_q0.95": forecast["q0.95"]},
        electives_to_review=0,
    )
    warnings["reasons"] = [["busy"]] * len(warnings)
    out = tmp_path / "report"
    write_report(history, forecast, warnings, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_fsync, calls = os.fsync, []

    def fill_on_second(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fill_on_second)
    with pytest.raises(OSError) as info:
        write_report(history, forecast, warnings.assign(level=4), out, title="new")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out / "B.svg")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_write_report_when_site_ids_clash_after_cleaning_keeps_one_file_each(tmp_path):
    dates = pd.date_range("2025-01-01", periods=60, freq="D")
    sites = ("[/x]", "x", "..")
    history = pd.concat(
        pd.DataFrame({"site_id": s, "date": dates, "attendances": 100.0}) for s in sites
    )
    forecast = SeasonalNaive().fit(history).predict(3)
    warnings = forecast[["site_id", "date"]].assign(
        level=1,
        surge_threshold=125.0,
        p_surge=0.1,
        attendances_mean=forecast["mean"],
        **{"attendances_q0.05": forecast["q0.05"], "attendances_q0.95": forecast["q0.95"]},
    )
    paths = write_report(history, forecast, warnings, tmp_path)
    assert len({paths[s] for s in sites}) == 3
    assert all(p.parent == tmp_path and not p.name.startswith(".") for p in paths.values())


# --- model_source --------------------------------------------------------------------------


def test_daily_records_when_from_cache_carry_model_source_in_json_and_csv():
    frame = _warnings().assign(model_source="cache")
    assert {r["model_source"] for r in to_records(frame)} == {"cache"}
    assert set(to_flat(frame)["model_source"]) == {"cache"}


# --- Rich markup ---------------------------------------------------------------------------


def test_show_warnings_when_site_and_reasons_hold_markup_prints_them_as_typed():
    console = Console(record=True, width=200)
    show_warnings(console, _warnings(site="[/x]"), "Warnings, models:/m@champion [cached copy]")
    text = console.export_text()
    assert "[/x]" in text and "[cached" in text and "[red]Monday[/]" in text
    assert "Review [bold]5[/] electives" in text


# --- history -------------------------------------------------------------------------------


def test_history_check_when_file_is_garbage_raises_naming_it(tmp_path):
    path = tmp_path / "h.db"
    path.write_text("not sqlite at all" * 100)
    with pytest.raises(WarningHistoryError, match=r"h\.db"):
        WarningHistory(path).check()


def test_history_check_when_path_is_a_folder_raises_saying_so(tmp_path):
    with pytest.raises(WarningHistoryError, match="folder"):
        WarningHistory(tmp_path).check()


def test_history_check_when_warnings_table_lacks_columns_raises_naming_one(tmp_path):
    path = tmp_path / "h.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE warnings (run_id TEXT, site_id TEXT)")
    with pytest.raises(WarningHistoryError, match="no column"):
        WarningHistory(path).check()
    with pytest.raises(WarningHistoryError):
        WarningHistory(path).append(_warnings(), ISSUED, "m")


def test_history_check_when_missing_creates_nothing(tmp_path):
    WarningHistory(tmp_path / "new" / "h.db").check()
    assert not (tmp_path / "new").exists()


def test_history_append_when_disk_full_raises_disk_full_and_keeps_earlier_runs(
    tmp_path, monkeypatch
):
    path = tmp_path / "h.db"
    store = WarningHistory(path)
    store.append(_warnings(), ISSUED, "m")
    real_connect = sqlite3.connect

    def tiny(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    monkeypatch.setattr(sqlite3, "connect", tiny)
    with pytest.raises(WarningHistoryError, match="disk is full"):
        store.append(_warnings(n_days=400), ISSUED, "m")
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    assert WarningHistory(path).read()["run_id"].nunique() == 1


# --- one-line OS errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, ("cannot write /x/w.json", "free disk space")),
        (errno.EACCES, ("cannot use /x/w.json", "permissions")),
        (errno.EISDIR, ("cannot write /x/w.json", "not a folder")),
        (errno.EROFS, ("cannot write /x/w.json", "read-only")),
    ],
)
def test_os_error_message_when_errno_known_names_path_reason_and_fix(code, words):
    line = os_error_message(OSError(code, os.strerror(code), "/x/w.json"))
    assert "\n" not in line and all(w in line for w in words) and "Fix:" in line
