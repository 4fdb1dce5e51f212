"""Fault injection: every command fails with one stderr line, a documented exit code, no
traceback, and leaves earlier outputs byte for byte as they were.

Each case runs the real CLI in a subprocess (``python -c``) after an optional injection
snippet (a full disk, a bug, a held lock, a kill at a chosen moment), in one working folder
with synthetic data and a trained seasonal-naive champion. Before and after, every file of
the folder (but MLflow's own store and the champion cache) is hashed.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED
from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

END = pd.Timestamp("2024-06-30")
SKIP_HASH = {"mlflow.db", "mlflow.db.lock", "mlruns", ".forecasting"}
DAILY = ("daily", "--data", "data/demand.csv")
LAUNCH = textwrap.dedent(
    """
    import sys
    from forecasting.cli import main
    sys.argv = ["forecasting", *sys.argv[1:]]
    main()
    """
)
# Injections, run in the child before the CLI starts.
DISK_FULL_ON_FSYNC = """
import errno, os
def _full(fd):
    raise OSError(errno.ENOSPC, "No space left on device")
os.fsync = _full
"""
DISK_FULL_ON_SECOND_FSYNC = """
import errno, os
_real, _calls = os.fsync, []
def _full(fd):
    _calls.append(fd)
    if len(_calls) >= 2:
        raise OSError(errno.ENOSPC, "No space left on device")
    _real(fd)
os.fsync = _full
"""
DISK_FULL_ON_COPY = """
import errno, shutil
def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")
shutil.copy2 = shutil.copyfile = _full
"""
HISTORY_FULL = """
from forecasting.escalation.history import WarningHistory
_connect = WarningHistory._connect
def _tiny(self):
    con = _connect(self)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages}")
    return con
WarningHistory._connect = _tiny
"""
HISTORY_TIMEOUT_1S = """
from forecasting.escalation.history import WarningHistory
WarningHistory.__init__.__defaults__ = (1.0,)
"""
BUG_IN_LIBRARY = """
import forecasting.daily
def _bug(*args, **kwargs):
    return 1 / 0
forecasting.daily.daily_warnings = _bug
"""
CTRL_C = """
import forecasting.daily
def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt
forecasting.daily.daily_warnings = _interrupt
"""


def _kill_at(target: str, after: bool = False) -> str:
    """Injection: SIGKILL the child itself when ``target`` (module:Class.attr) is called."""
    module, _, attr = target.partition(":")
    owner, _, name = attr.rpartition(".")
    call = "result = real(*args, **kwargs)\n        " if after else ""
    return textwrap.dedent(
        f"""
        import os, signal, importlib
        holder = importlib.import_module("{module}")
        for part in "{owner}".split(".") if "{owner}" else []:
            holder = getattr(holder, part)
        real = getattr(holder, "{name}")
        def killed(*args, **kwargs):
            {call}os.kill(os.getpid(), signal.SIGKILL)
        setattr(holder, "{name}", killed)
        """
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with synthetic data, a champion, a history, warnings and earlier outputs."""
    path = tmp_path_factory.mktemp("faults")
    write_synth(synth_demand(n_sites=2, years=2.2, end=END.date(), seed=5), path / "data")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        runner = CliRunner()
        train = ["train", "--data", "data/demand.csv", "--model", "snaive", "--windows", "1"]
        assert runner.invoke(app, train).exit_code == 0
        first = [*DAILY, "--as-of", "2024-06-20", "--format", "json", "--out", "w.json"]
        out = runner.invoke(app, [*first, "--history", "h.db"])
        assert out.exit_code == 0, out.output
    (path / "outdir").mkdir()
    (path / "bt.csv").write_text("earlier backtest\n")
    (path / "rep").mkdir()
    (path / "rep" / "index.html").write_text("earlier report\n")
    (path / "rep" / "RAA.png").write_bytes(b"earlier picture")
    (path / "garbage.db").write_bytes(b"not a database " * 200)
    with sqlite3.connect(path / "wrong.db") as con:
        con.execute("CREATE TABLE warnings (run_id TEXT, site_id TEXT)")
    with sqlite3.connect(path / "future.db") as con:
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    (path / "other.yaml").write_text("mlflow:\n  model_name: no-such-model\n")
    marked = pd.read_csv(path / "data" / "demand.csv")
    marked["site_id"] = marked["site_id"].replace({"RAA": "[/x]"})
    marked.to_csv(path / "marked.csv", index=False)
    return path


def _snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` but MLflow's store and the champion cache."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if rel.parts[0] in SKIP_HASH or not p.is_file():
            continue
        out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def cli(
    folder: Path,
    args: list[str] | tuple[str, ...],
    inject: str = "",
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``forecasting ARGS`` in a child process after ``inject``."""
    env = {k: v for k, v in os.environ.items() if k not in {"MLFLOW_TRACKING_URI", "COLUMNS"}}
    env["FORECASTING_DEBUG"] = ""
    return subprocess.run(
        [sys.executable, "-c", inject + "\n" + LAUNCH, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


@dataclass(frozen=True)
class Fault:
    """One injected fault: the command, how to break things, and what the user must see."""

    name: str
    args: tuple[str, ...]
    words: tuple[str, ...] = ()
    inject: str = ""
    code: int = EXIT_BAD_INPUT
    setup: Callable[[Path], Callable[[], None]] | None = field(default=None, compare=False)


def _hold_exclusive_lock(folder: Path) -> Callable[[], None]:
    con = sqlite3.connect(folder / "h.db", isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        con.execute("ROLLBACK")
        con.close()

    return release


JSON_OUT = ("--format", "json", "--out", "w.json")
BACKTEST = ("backtest", "--data", "data/demand.csv", "--models", "snaive", "--windows", "1")
FAULTS = [
    Fault("daily-out-is-a-folder", (*DAILY, "--format", "json", "--out", "outdir"), ("outdir",)),
    Fault(
        "daily-out-under-a-file",
        (*DAILY, "--format", "csv", "--out", "data/demand.csv/w.csv"),
        ("data/demand.csv",),
    ),
    Fault("daily-out-unwritable", (*DAILY, *JSON_OUT[:2], "--out", "/proc/forbidden/w.json")),
    Fault("daily-history-is-a-folder", (*DAILY, *JSON_OUT, "--history", "outdir"), ("outdir",)),
    Fault("daily-history-garbage", (*DAILY, *JSON_OUT, "--history", "garbage.db"), ("garbage",)),
    Fault("daily-history-wrong-columns", (*DAILY, *JSON_OUT, "--history", "wrong.db"), ("wrong",)),
    Fault("daily-history-newer-schema", (*DAILY, *JSON_OUT, "--history", "future.db"), ("99",)),
    Fault(
        "daily-history-locked",
        (*DAILY, *JSON_OUT, "--history", "h.db"),
        ("locked", "h.db"),
        inject=HISTORY_TIMEOUT_1S,
        setup=_hold_exclusive_lock,
    ),
    Fault(
        "daily-history-disk-full",
        (*DAILY, *JSON_OUT, "--history", "h.db"),
        ("disk is full", "h.db"),
        inject=HISTORY_FULL,
    ),
    Fault(
        "daily-out-disk-full",
        (*DAILY, *JSON_OUT, "--history", "h.db"),
        ("w.json", "free disk space"),
        inject=DISK_FULL_ON_FSYNC,
    ),
    Fault(
        "daily-no-champion",
        (*DAILY, *JSON_OUT, "--history", "h.db", "--config", "other.yaml"),
        ("no-such-model",),
    ),
    Fault(
        "daily-markup-in-site-id",
        ("daily", "--data", "marked.csv", *JSON_OUT, "--history", "h.db"),
        ("[/x]",),
    ),
    Fault("daily-markup-in-path", ("daily", "--data", "[/x].csv", *JSON_OUT), ("[/x].csv",)),
    Fault(
        "daily-bug-in-library",
        (*DAILY, *JSON_OUT, "--history", "h.db"),
        ("internal error", "ZeroDivisionError", "FORECASTING_DEBUG"),
        inject=BUG_IN_LIBRARY,
        code=EXIT_INTERNAL,
    ),
    Fault(
        "daily-ctrl-c",
        (*DAILY, *JSON_OUT, "--history", "h.db"),
        ("interrupted",),
        inject=CTRL_C,
        code=EXIT_INTERRUPTED,
    ),
    Fault("report-out-is-a-file", ("report", "--data", "data/demand.csv", "--out", "w.json")),
    Fault(
        "report-disk-full",
        ("report", "--data", "data/demand.csv", "--out", "rep"),
        ("rep/", "free disk space"),
        inject=DISK_FULL_ON_SECOND_FSYNC,
    ),
    Fault("backtest-out-is-a-folder", (*BACKTEST, "--out", "outdir"), ("outdir",)),
    Fault(
        "backtest-disk-full",
        (*BACKTEST, "--out", "bt.csv"),
        ("bt.csv", "free disk space"),
        inject=DISK_FULL_ON_FSYNC,
    ),
    Fault(
        "train-disk-full",
        ("train", "--data", "data/demand.csv", "--model", "snaive", "--windows", "1"),
        ("No space left",),
        inject=DISK_FULL_ON_COPY,
    ),
    Fault(
        "warnings-evaluate-history-garbage",
        ("warnings", "evaluate", "--data", "data/demand.csv", "--history", "garbage.db"),
        ("garbage.db",),
    ),
    Fault(
        "warnings-evaluate-history-wrong-columns",
        ("warnings", "evaluate", "--data", "data/demand.csv", "--history", "wrong.db"),
        ("wrong.db",),
    ),
    Fault("data-check-markup-in-path", ("data", "check", "[/x].csv"), ("[/x].csv",)),
    Fault("data-check-markup-in-site-id", ("data", "check", "marked.csv"), code=0),
    Fault("data-synth-out-is-a-file", ("data", "synth", "--out", "w.json"), ("w.json",)),
    Fault(
        "readmission-score-no-model",
        (
            "readmission",
            "score",
            "--data",
            "data/episodes.csv",
            "--model",
            "w.json",
            "--out",
            "r.csv",
        ),
        ("w.json",),
    ),
    Fault("demo-out-is-a-file", ("demo", "--out", "w.json"), ("w.json",)),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_cli_when_fault_injected_exits_cleanly_and_keeps_earlier_outputs(work, fault):
    before = _snapshot(work)
    release = fault.setup(work) if fault.setup else None
    try:
        out = cli(work, fault.args, fault.inject)
    finally:
        if release:
            release()
    report = f"exit {out.returncode}\nstderr:\n{out.stderr}\nstdout:\n{out.stdout[-2000:]}"
    assert out.returncode == fault.code, report
    assert "Traceback" not in out.stderr + out.stdout, report
    if fault.code != 0:
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, report
        assert all(w in lines[0] for w in fault.words), report
    else:
        assert all(w in out.stdout for w in fault.words), report
    after = _snapshot(work)
    leftovers = sorted(set(after) - set(before))
    assert leftovers == [], leftovers  # no temporary or half-written files left behind
    assert after == before


def test_fault_table_when_counted_covers_at_least_fifteen_faults_across_commands():
    commands = {f.args[0] for f in FAULTS}
    assert len(FAULTS) >= 15
    assert commands >= {"daily", "report", "backtest", "train", "warnings", "data", "demo"}


# --- a kill -9 while daily writes: the output file and the history always agree ---------

KILL_POINTS = {
    # at the start of the history append (old code had already replaced w.json here)
    "history-append-starts": _kill_at("forecasting.escalation.history:WarningHistory.append"),
    # rows inserted, transaction not yet committed
    "history-rows-inserted": _kill_at(
        "forecasting.escalation.history:WarningHistory._insert_rows", after=True
    ),
    # history committed, output not yet renamed into place
    "output-rename": _kill_at("forecasting.io:_rename"),
}


def _as_ofs_in_history(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        runs = con.execute(
            "SELECT r.run_id, r.n_rows, count(w.run_id), min(w.as_of) FROM runs r "
            "LEFT JOIN warnings w USING (run_id) GROUP BY r.run_id"
        ).fetchall()
    assert all(n_rows == count for _, n_rows, count, _ in runs)  # no half-written run
    return {as_of for *_, as_of in runs}


def _assert_output_in_history(work: Path, history: Path) -> None:
    records = json.loads((work / "w.json").read_text())
    assert {r["as_of"] for r in records} <= _as_ofs_in_history(history)


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_daily_when_killed_while_writing_output_warnings_are_in_the_history(work, point):
    history = work / f"kill-{point}.db"
    history.write_bytes((work / "h.db").read_bytes())
    before = (work / "w.json").read_bytes()
    args = [*DAILY, "--as-of", "2024-06-27", *JSON_OUT, "--history", history.name]
    out = cli(work, args, KILL_POINTS[point])
    assert out.returncode == -signal.SIGKILL, out.stderr
    _assert_output_in_history(work, history)
    if point != "output-rename":
        assert (work / "w.json").read_bytes() == before
    for tmp in work.glob(".w.json.*.tmp"):  # a killed run may leave its hidden staging file
        tmp.unlink()
    history.unlink()


@pytest.mark.slow
def test_daily_when_killed_at_random_moments_output_and_history_always_agree(work):
    history = work / "kill-random.db"
    history.write_bytes((work / "h.db").read_bytes())
    args = [*DAILY, *JSON_OUT, "--history", history.name]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    for delay in (3.0, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0):
        day = f"2024-06-{10 + int(delay * 2):02d}"
        child = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *args, "--as-of", day],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        _assert_output_in_history(work, history)
    history.unlink()
    for tmp in work.glob(".w.json.*.tmp"):
        tmp.unlink()


# --- a read-only working folder (for root, the child runs without capabilities) ----------
PR_SET_SECUREBITS, SECBIT_NOROOT = 28, 0x1  # <linux/prctl.h>, <linux/securebits.h>
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAP_SETPCAP = 8


def _without_root_powers() -> Callable[[], None] | None:
    """For root, a ``preexec_fn`` after which the child has no capability, so chmod binds it.

    ``chmod 0555`` cannot stop root (``CAP_DAC_OVERRIDE``), and switching to ``nobody`` is
    no way out here: the venv's interpreter lives under ``/root`` (mode 0700). So the child
    keeps uid 0, which owns the folder and the interpreter, like an ordinary user owning
    their own files, but loses every capability: ``SECBIT_NOROOT`` stops ``execve`` from
    granting uid 0 the full set, and the ambient set is cleared.
    """
    if os.geteuid() != 0:
        return None
    status = Path("/proc/self/status").read_text()
    caps = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
    if not int(caps, 16) >> CAP_SETPCAP & 1:
        pytest.skip("root without CAP_SETPCAP cannot start a child without capabilities")
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop() -> None:
        for option, arg in (
            (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL),
            (PR_SET_SECUREBITS, SECBIT_NOROOT),
        ):
            if prctl(option, arg, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), f"prctl({option}, {arg})")

    return drop


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX file modes only")
@pytest.mark.parametrize(
    "args",
    [
        [*DAILY, *JSON_OUT, "--no-history"],
        ["report", "--data", "data/demand.csv", "--out", "rep"],
        ["backtest", "--data", "data/demand.csv", "--models", "snaive", "--out", "bt.csv"],
    ],
    ids=["daily", "report", "backtest"],
)
def test_cli_when_working_folder_read_only_exits_2_with_one_line(work, args):
    unprivileged = _without_root_powers()
    before = _snapshot(work)
    folders = [work, work / "rep"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "open('probe', 'x')"],
            cwd=work,
            capture_output=True,
            text=True,
            preexec_fn=unprivileged,
        )
        out = cli(work, args, preexec_fn=unprivileged)
    finally:
        for folder in folders:
            folder.chmod(0o755)
        (work / "probe").unlink(missing_ok=True)
    assert "PermissionError" in probe.stderr, f"the child writes in a 0555 folder: {probe}"
    assert out.returncode == EXIT_BAD_INPUT, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert _snapshot(work) == before
