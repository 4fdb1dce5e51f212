"""The README's MLflow notebook example runs as written, on a store in a tmp folder."""

import re
from pathlib import Path

import pandas as pd
import pytest
from test_tracking_support import empty_store

from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.filterwarnings("ignore::forecasting.errors.ShortHistoryWarning")  # 1.2 years: fast
def test_readme_tracking_example_when_executed_trains_lists_and_predicts(
    tmp_path, tmp_path_factory, monkeypatch, capsys
):
    section = README.split("## Model tracking (MLflow)", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    end = pd.Timestamp("2024-06-30").date()
    write_synth(synth_demand(n_sites=2, years=1.2, end=end, seed=5), tmp_path / "data")
    empty_store(tmp_path_factory, tmp_path / "mlflow.db")  # the default ./mlflow.db, pre-made
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert " 1 champion " in out  # run id, version 1, alias champion, pinball
    assert "train ets" in out and "2024-06-30" in out  # the runs table
    assert "q0.95" in out  # the champion's forecast frame
