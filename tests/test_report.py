"""The warnings report: header, summary across sites, SVG charts, colours and files."""

from __future__ import annotations

import re
import xml.dom.minidom
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from forecasting.models.naive import SeasonalNaive
from forecasting.national.colours import AA_NORMAL_TEXT, contrast_ratio
from forecasting.report import report_page, write_report
from forecasting.report_data import site_chart_data
from forecasting.report_svg import nice_ticks

Inputs = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _inputs(sites: list[str], levels: list[int]) -> Inputs:
    dates = pd.date_range("2025-01-01", periods=70, freq="D")  # to Tue 11 Mar 2025
    history = pd.concat(
        [
            pd.DataFrame({"site_id": s, "date": dates, "attendances": 100.0 + 10 * (i + 1)})
            for i, s in enumerate(sites)
        ]
    )
    forecast = SeasonalNaive().fit(history).predict(7)
    warnings = forecast[["site_id", "date", "model"]].copy()
    warnings["level"] = levels * len(sites)
    warnings["surge_threshold"] = 125.0
    warnings["p_surge"] = [0.1 * (i % 7) for i in range(len(warnings))]
    warnings["occupancy"] = 0.9
    warnings["attendances_mean"] = forecast["mean"]
    warnings["attendances_q0.05"] = forecast["q0.05"]
    warnings["attendances_q0.95"] = forecast["q0.95"]
    warnings["electives_to_review"] = 0
    warnings["reasons"] = [["<Monday> is busiest"]] * len(warnings)
    return history, forecast, warnings


@pytest.fixture()
def inputs() -> Inputs:
    return _inputs(["A/1", "B"], [1, 2, 3, 4, 1, 1, 1])


def test_write_report_when_two_sites_writes_svg_each_and_escaped_html(
    tmp_path: Path, inputs: Inputs
) -> None:
    paths = write_report(*inputs, tmp_path / "report")
    assert sorted(paths) == ["A/1", "B", "index"]
    assert paths["A/1"].name == "A_1.svg"
    svg = paths["B"].read_text(encoding="utf-8")
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg class="chart"')
    assert "<style>" in svg
    xml.dom.minidom.parseString(svg)  # well-formed on its own
    page = paths["index"].read_text(encoding="utf-8")
    assert page.count('<svg class="chart"') == 2
    assert "data:image/png" not in page
    assert "&lt;Monday&gt; is busiest" in page
    assert "<Monday>" not in page
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "A_1.svg",
        "B.svg",
        "index.html",
    ]


def test_report_page_when_model_and_issue_time_given_shows_them_with_the_as_of_day(
    inputs: Inputs,
) -> None:
    issued = datetime(2025, 3, 12, 6, 30, tzinfo=UTC)
    page, _ = report_page(*inputs, issued=issued, model_ref="models:/ed@champion (version 3)")
    assert "<b>Data to Tuesday 11 March 2025</b> (as-of day)" in page
    assert "forecast days Wed 12 Mar to Tue 18 Mar 2025" in page
    assert "issued 2025-03-12 06:30 UTC" in page
    assert "model <b>models:/ed@champion (version 3)</b> · 2 sites" in page


def test_report_page_when_no_model_ref_names_the_warnings_model_and_a_cached_copy(
    inputs: Inputs,
) -> None:
    history, forecast, warnings = inputs
    cached = warnings.assign(model_source="cache")
    page, _ = report_page(history, forecast, cached, issued="2025-03-12 06:30")
    assert "issued 2025-03-12 06:30 · model <b>snaive [locally cached copy" in page


def test_report_page_when_sites_reach_level_4_counts_levels_and_lists_the_top_sites(
    inputs: Inputs,
) -> None:
    page, _ = report_page(*inputs, issued="2025-03-12 06:30")
    counts = re.findall(r'<div class="count lv(\d)"><b>(\d+)</b>', page)
    assert counts == [("1", "0"), ("2", "0"), ("3", "0"), ("4", "2")]
    assert "the highest this issue: 2</h3>" in page
    assert '<a href="#site-0">A/1</a>: from Sat 15 Mar' in page
    grid = page[page.index('<table class="grid">') :]
    row = grid[grid.index("A/1</a>") : grid.index("</tr>", grid.index("A/1</a>"))]
    assert re.findall(r'class="lv(\d)">', row) == ["1", "2", "3", "4", "1", "1", "1"]


def test_report_page_when_every_day_is_level_1_says_no_site_is_above_it() -> None:
    page, _ = report_page(*_inputs(["A", "B"], [1] * 7), issued="2025-03-12 06:30")
    assert "No site is above level 1 on any forecast day." in page


def test_report_page_when_sites_differ_orders_them_by_level_then_p_surge() -> None:
    history, forecast, warnings = _inputs(["A", "B", "C"], [1] * 7)
    warnings.loc[warnings["site_id"] == "C", "level"] = 3
    warnings.loc[warnings["site_id"] == "A", "p_surge"] = 0.05
    page, _ = report_page(history, forecast, warnings, issued="2025-03-12 06:30")
    sections = re.findall(r'<section class="site" id="site-\d"><h2>([^<]+)</h2>', page)
    assert sections == ["C", "B", "A"]


def test_report_page_level_cells_when_styled_reach_wcag_aa_contrast(inputs: Inputs) -> None:
    page, _ = report_page(*inputs, issued="2025-03-12 06:30")
    pairs = re.findall(r"\.lv(\d)\{background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\}", page)
    styles = {lv: (bg, fg) for lv, bg, fg in pairs}
    assert sorted(styles) == ["1", "2", "3", "4"]
    assert styles["2"] == ("#f9a825", "#111111")
    assert min(contrast_ratio(fg, bg) for _, bg, fg in pairs) >= AA_NORMAL_TEXT
    assert "color:white" not in page
    assert '<td class="lv lv2">2 signs of pressure</td>' in page


def test_report_page_when_drawn_labels_axes_reference_lines_and_level_shading(
    inputs: Inputs,
) -> None:
    page, svgs = report_page(*inputs, issued="2025-03-12 06:30", comfort=0.85, ceiling=0.92)
    svg = svgs["B"]
    for text in ("attendances per day", "P(surge)", "forecast bed occupancy", "85% comfort"):
        assert f">{text}</text>" in svg
    assert ">92% ceiling</text>" in svg
    assert "bars: P(surge), left axis · line with dots: forecast bed occupancy, right axis" in svg
    assert svg.count('fill-opacity="0.16"') == 7  # one level shading per forecast day
    legend = page[page.index("How to read the charts") : page.index('<section class="site"')]
    for text in (
        "shading: level 2 signs of pressure",
        "P(surge), left axis",
        "forecast bed occupancy, right axis",
        "85% occupancy comfort line",
        "92% occupancy ceiling",
        "surge line (each day's)",
    ):
        assert text in legend


def test_report_page_when_no_beds_says_so_instead_of_an_occupancy_axis(inputs: Inputs) -> None:
    history, forecast, warnings = inputs
    _, svgs = report_page(history, forecast, warnings.drop(columns="occupancy"))
    assert "bars: P(surge), left axis (no bed data)" in svgs["B"]
    assert "forecast bed occupancy" not in svgs["B"]


def test_report_page_when_many_sites_stays_under_25_kb_a_site() -> None:
    sites = [f"S{i:02d}" for i in range(20)]
    page, _ = report_page(*_inputs(sites, [1, 2, 3, 4, 1, 1, 1]), issued="2025-03-12 06:30")
    assert len(page.encode("utf-8")) < 20 * 25_000


def test_site_chart_data_when_28_days_shown_places_history_then_forecast_columns(
    inputs: Inputs,
) -> None:
    history, forecast, warnings = inputs
    data = site_chart_data(history, forecast, warnings, pd.Timestamp("2025-03-11"))["B"]
    assert data.observed_days == list(range(28))
    assert data.observed == [120.0] * 28
    assert data.forecast_days == list(range(28, 35))
    assert data.warning_days == list(range(28, 35))
    assert data.day_labels[0] == "Wed 12 Mar"
    assert data.tick_days == [5, 12, 19, 26, 33]  # Mondays; column 0 is Wed 12 Feb
    assert data.tick_labels[0] == "Mon 17 Feb"


def test_nice_ticks_when_range_is_uneven_rounds_to_steps_of_1_2_2_5_or_5() -> None:
    assert nice_ticks(3, 97) == [0, 25, 50, 75, 100]
    assert nice_ticks(151, 229) == [140, 160, 180, 200, 220, 240]
    assert nice_ticks(80, 80) == [80, 80.25, 80.5, 80.75, 81.0]


def test_report_page_when_site_names_given_labels_sites_as_the_terminal_table(
    inputs: Inputs,
) -> None:
    history, forecast, warnings = inputs
    named = warnings.assign(site_name="from column")
    page, _ = report_page(
        history, forecast, named, issued="2025-03-12 06:30", site_names={"B": "Northgate <General>"}
    )
    assert "<h2>B (Northgate &lt;General&gt;)</h2>" in page
    assert "<h2>A/1 (from column)</h2>" in page


def test_report_page_when_no_warnings_says_so(inputs: Inputs) -> None:
    history, forecast, warnings = inputs
    page, svgs = report_page(history, forecast, warnings.iloc[:0], issued="2025-03-12 06:30")
    assert "<p>No warnings.</p>" in page and "0 sites" in page
    assert svgs == {}
