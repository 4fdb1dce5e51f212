"""`forecasting report` end to end: the page names the data day, the registered model and sites.

Slow (a champion is trained and registered in a local MLflow store first).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_tracking_support import empty_store
from typer.testing import CliRunner

from forecasting.cli import app
from forecasting.config import load_sites
from forecasting.data.export import write_synth
from forecasting.data.synth import synth_demand

runner = CliRunner()
END = pd.Timestamp("2024-06-30")


@pytest.mark.slow
def test_report_when_run_after_train_names_as_of_day_model_version_and_site_names(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("report")
    write_synth(synth_demand(n_sites=2, years=1.0, end=END.date(), seed=5), path / "data")
    empty_store(tmp_path_factory, path / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(path)
        train = ["train", "--data", "data/demand.csv", "--model", "snaive", "--windows", "1"]
        assert runner.invoke(app, train).exit_code == 0
        args = ["report", "--data", "data/demand.csv", "--as-of", "2024-06-20", "--out", "rep"]
        out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    page = (path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "<b>Data to Thursday 20 June 2024</b> (as-of day)" in page
    assert "forecast days Fri 21 Jun to Thu 27 Jun 2024" in page
    assert re.search(r"issued \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert re.search(r"model <b>models:/ed-demand@champion \(version 1\)</b> · 2 sites", page)
    for site_id, site in load_sites(path / "data" / "sites.yaml").items():
        assert f"<h2>{site_id} ({site.name})</h2>" in page
    assert sorted(p.name for p in (path / "rep").iterdir()) == ["RAA.svg", "RAB.svg", "index.html"]
