"""-q/--quiet and -v/--verbose on every command, and shell completion."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import typer
from typer.testing import CliRunner

from forecasting.cli import app


def _leaf_commands(group: click.Command, prefix: str = "") -> dict[str, click.Command]:
    if hasattr(group, "commands"):  # a group (Typer may vendor its own Click)
        out: dict[str, click.Command] = {}
        for name, cmd in group.commands.items():
            out |= _leaf_commands(cmd, f"{prefix} {name}".strip())
        return out
    return {prefix: group}


def _gappy_file(tmp_path: Path) -> Path:
    dates = pd.date_range("2024-01-01", periods=120, freq="D")
    frame = pd.DataFrame(
        {"site_id": "A", "date": dates, "attendances": np.arange(120) % 7 + 50.0}
    ).drop(index=[40, 41])
    path = tmp_path / "gappy.csv"
    frame.to_csv(path, index=False)
    return path


def test_every_command_when_asked_for_help_offers_quiet_and_verbose() -> None:
    commands = _leaf_commands(typer.main.get_command(app))
    assert len(commands) >= 18
    for name, cmd in commands.items():
        opts = {o for p in cmd.params for o in p.opts}
        assert {"--quiet", "-q", "--verbose", "-v"} <= opts, name


def test_root_help_when_shown_offers_install_completion() -> None:
    out = CliRunner().invoke(app, ["--help"])
    assert "--install-completion" in out.output


def test_backtest_when_quiet_prints_nothing_but_writes_its_file(tmp_path: Path) -> None:
    path = _gappy_file(tmp_path)
    args = [
        "backtest",
        "--data",
        str(path),
        "--out",
        str(tmp_path / "cv.csv"),
        "--models",
        "snaive",
    ]
    args += ["--windows", "2", "--no-track"]
    loud = CliRunner().invoke(app, args)
    assert loud.exit_code == 0, loud.output
    assert "warning:" in loud.stderr and "snaive" in loud.stdout
    (tmp_path / "cv.csv").unlink()
    quiet = CliRunner().invoke(app, [*args, "-q"])
    assert quiet.exit_code == 0, quiet.output
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert len(pd.read_csv(tmp_path / "cv.csv")) == 14


def test_data_check_when_quiet_still_prints_json(tmp_path: Path) -> None:
    path = _gappy_file(tmp_path)
    out = CliRunner().invoke(app, ["data", "check", str(path), "--format", "json", "--quiet"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["n_sites"] == 1


def test_command_when_quiet_and_verbose_together_exits_2() -> None:
    out = CliRunner().invoke(app, ["data", "holidays", "-q", "-v"])
    assert out.exit_code == 2
    assert "choose one of --quiet and --verbose" in out.output


def test_backtest_when_verbose_still_shows_the_actionable_warning(tmp_path: Path) -> None:
    args = [
        "backtest",
        "--data",
        str(_gappy_file(tmp_path)),
        "--out",
        str(tmp_path / "cv.csv"),
        "-v",
    ]
    out = CliRunner().invoke(app, [*args, "--models", "snaive", "--windows", "2", "--no-track"])
    assert out.exit_code == 0, out.output
    assert "warning:" in out.stderr


def test_site_col_help_when_shown_documents_composite_ids() -> None:
    out = CliRunner().invoke(app, ["data", "check", "--help"], env={"COLUMNS": "200"})
    assert "--site-col board,priority,nature" in " ".join(out.output.split())
