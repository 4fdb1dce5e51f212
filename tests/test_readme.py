import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_quick_start_when_read_has_exactly_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [b.strip() for b in re.findall(r"```bash\n(.*?)```", quick, flags=re.S)]
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[0].endswith("forecasting demo")
    assert commands[1].endswith("python -m pytest")


def test_ci_run_when_read_uses_the_readme_test_command():
    quick = README.split("## Quick start", 1)[1]
    test_command = re.findall(r"```bash\n(.*?)```", quick, flags=re.S)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]


def test_readme_library_example_when_executed_runs(tmp_path, monkeypatch, capsys):
    block = README.split("## Library", 1)[1]
    code = re.findall(r"```python\n(.*?)```", block, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "weekly_ratio" in out
    assert "brier_skill" in out
    assert (tmp_path / "my-data" / "demand.csv").is_file()
    assert (tmp_path / "fan_chart.png").stat().st_size > 10_000
