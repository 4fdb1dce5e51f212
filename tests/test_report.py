"""The warnings report: PNG per site and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecasting.models.naive import SeasonalNaive
from forecasting.report import write_report


@pytest.fixture()
def inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    dates = pd.date_range("2025-01-01", periods=70, freq="D")
    history = pd.concat(
        [
            pd.DataFrame({"site_id": s, "date": dates, "attendances": 100.0 + 10 * (i + 1)})
            for i, s in enumerate(["A/1", "B"])
        ]
    )
    forecast = SeasonalNaive().fit(history).predict(7)
    warnings = forecast[["site_id", "date"]].copy()
    warnings["level"] = [1, 2, 3, 4, 1, 1, 1] * 2
    warnings["surge_threshold"] = 125.0
    warnings["p_surge"] = 0.2
    warnings["occupancy"] = 0.9
    warnings["attendances_mean"] = forecast["mean"]
    warnings["attendances_q0.05"] = forecast["q0.05"]
    warnings["attendances_q0.95"] = forecast["q0.95"]
    warnings["electives_to_review"] = 0
    warnings["reasons"] = [["<Monday> is busiest"]] * 14
    return history, forecast, warnings


def test_write_report_when_two_sites_writes_png_each_and_escaped_html(
    tmp_path: Path, inputs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
) -> None:
    paths = write_report(*inputs, tmp_path / "report")
    assert sorted(paths) == ["A/1", "B", "index"]
    assert paths["A/1"].name == "A_1.png"
    assert paths["B"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = paths["index"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2
    assert "&lt;Monday&gt; is busiest" in page
    assert "<Monday>" not in page
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "A_1.png",
        "B.png",
        "index.html",
    ]
