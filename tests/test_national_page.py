"""The national summary page: level counts, changes since yesterday, SVG strips, escaping."""

from __future__ import annotations

import re
import xml.dom.minidom
from pathlib import Path

import pandas as pd
import pytest

from forecasting.io import StagedOutputs
from forecasting.national import national_page, write_national_page
from forecasting.national.colours import (
    AA_NORMAL_TEXT,
    LEVEL_COLOURS,
    LEVEL_TEXT,
    contrast_ratio,
    level_css,
)
from forecasting.national.demo import synthetic_inputs
from forecasting.national.summary import changed_levels, headline_levels, level_counts
from forecasting.national.svg import (
    StripData,
    StripGeometry,
    band_points,
    observed_path,
    strip_svg,
)

AS_OF = pd.Timestamp("2026-01-12")
PAGE_ARGS = {"as_of": AS_OF, "issued": "2026-01-12 06:30", "model_ref": "models:/bed@champion"}


def _warnings(levels: dict[str, list[int]], occupancy: dict[str, float]) -> pd.DataFrame:
    rows = []
    for site, days in levels.items():
        for h, level in enumerate(days, start=1):
            occ = occupancy[site] + 0.001 * h
            rows.append(
                {
                    "site_id": site,
                    "as_of": AS_OF,
                    "date": AS_OF + pd.Timedelta(days=h),
                    "horizon": h,
                    "level": level,
                    "level_name": f"name {level}",
                    "occupancy": occ,
                    "occupancy_q0.05": occ - 0.02,
                    "occupancy_q0.95": occ + 0.02,
                    "p_occupancy_ge_0.92": 0.5,
                    "p_occupancy_ge_0.97": 0.1,
                    "opel_score": float(level),
                    "reasons": [f"{site} day {h} level {level}"],
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture()
def five() -> pd.DataFrame:
    return _warnings(
        {
            "A": [1, 2, 2],
            "B": [3, 3, 2],
            "C": [1, 1, 1],
            "D": [1, 4, 1],
            "E": [2, 2, 2],
        },
        {"A": 0.90, "B": 0.95, "C": 0.80, "D": 0.99, "E": 0.93},
    )


def _history(sites: list[str]) -> pd.DataFrame:
    dates = pd.date_range(end=AS_OF, periods=35, freq="D")
    return pd.concat(pd.DataFrame({"site_id": s, "date": dates, "occupancy": 0.9}) for s in sites)


def test_headline_levels_when_days_differ_takes_max_level_first_peak_day_and_sorts() -> None:
    w = _warnings(
        {"A": [1, 2, 2], "B": [3, 3, 2], "Z": [2, 1, 1]}, {"A": 0.90, "B": 0.95, "Z": 0.97}
    )
    heads = headline_levels(w)
    assert heads["site_id"].tolist() == ["B", "Z", "A"]
    assert heads["level"].tolist() == [3, 2, 2]
    assert heads["peak_date"].tolist() == [
        AS_OF + pd.Timedelta(days=1),
        AS_OF + pd.Timedelta(days=1),
        AS_OF + pd.Timedelta(days=2),
    ]
    assert heads["peak_occupancy"].round(3).tolist() == [0.953, 0.973, 0.903]
    assert heads["reason"].tolist() == ["B day 1 level 3", "Z day 1 level 2", "A day 2 level 2"]
    assert heads["site_name"].tolist() == ["B", "Z", "A"]


def test_level_counts_when_five_trusts_counts_each_level_including_zeros(
    five: pd.DataFrame,
) -> None:
    counts = level_counts(headline_levels(five))
    assert counts.to_dict() == {1: 1, 2: 2, 3: 1, 4: 1}
    only_low = _warnings({"X": [1, 1], "Y": [2, 1]}, {"X": 0.8, "Y": 0.8})
    assert level_counts(headline_levels(only_low)).to_dict() == {1: 1, 2: 1, 3: 0, 4: 0}


def test_changed_levels_when_trust_missing_yesterday_lists_it_as_new(five: pd.DataFrame) -> None:
    previous = pd.Series({"A": 2, "B": 2, "D": 3, "E": 3, "gone": 4})
    table = changed_levels(headline_levels(five), previous)
    assert table["site_id"].tolist() == ["D", "B", "E", "C"]
    assert table["previous_level"].isna().tolist() == [False, False, False, True]
    assert table["previous_level"].fillna(0).tolist() == [3, 2, 3, 0]
    assert table["level"].tolist() == [4, 3, 2, 1]
    assert table["reason"].tolist() == [
        "D day 2 level 4",
        "B day 1 level 3",
        "E day 1 level 2",
        "C day 1 level 1",
    ]
    assert table["level_name"].tolist() == [
        "unable to deliver comprehensive care",
        "major pressure",
        "signs of pressure",
        "flow maintained",
    ]


def test_changed_levels_when_no_previous_issue_lists_nothing(five: pd.DataFrame) -> None:
    assert changed_levels(headline_levels(five), None).empty
    page = national_page(five, _history(["A"]), None, **PAGE_ARGS)
    assert "No previous issue to compare with." in page


def test_changed_levels_when_nothing_changed_says_so(five: pd.DataFrame) -> None:
    same = headline_levels(five).set_index("site_id")["level"]
    assert changed_levels(headline_levels(five), same).empty
    page = national_page(five, _history(["A"]), same, **PAGE_ARGS)
    assert "No trust changed level." in page


def test_contrast_ratio_when_each_level_text_on_its_colour_reaches_wcag_aa() -> None:
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    for level, background in LEVEL_COLOURS.items():
        assert contrast_ratio(LEVEL_TEXT[level], background) >= AA_NORMAL_TEXT, level
    assert LEVEL_TEXT[2] == "#111111"  # dark text on amber
    assert LEVEL_TEXT[3] == "#111111"  # white on orange is only 3.8:1
    assert round(contrast_ratio("#ffffff", LEVEL_COLOURS[3]), 2) == 3.79


def test_level_css_when_rendered_gives_each_level_its_readable_text_colour() -> None:
    assert level_css() == (
        ".lv1{background:#2e7d32;color:#ffffff}.lv2{background:#f9a825;color:#111111}"
        ".lv3{background:#e65100;color:#111111}.lv4{background:#b71c1c;color:#ffffff}"
    )


def test_headline_levels_when_no_occupancy_column_leaves_peak_occupancy_empty() -> None:
    w = _warnings({"A": [1, 2], "B": [3, 1]}, {"A": 0.9, "B": 0.9}).drop(columns="occupancy")
    heads = headline_levels(w)
    assert heads["site_id"].tolist() == ["B", "A"]
    assert heads["peak_occupancy"].isna().all()


def test_strip_geometry_when_default_places_reference_lines_exactly() -> None:
    g = StripGeometry()
    assert g.y_of(0.92) == pytest.approx(40.0)
    assert g.y_of(0.97) == pytest.approx(30.0)
    assert g.y_of(1.5) == pytest.approx(4.0)  # clipped to the top edge
    assert g.y_of(0.1) == pytest.approx(84.0)  # clipped to the bottom edge
    assert g.x_of(0) == pytest.approx(30.0)
    assert g.x_of(28) == pytest.approx(254.0)
    assert (g.width, g.height) == (310.0, 102.0)


def test_observed_path_when_series_has_nan_and_gap_breaks_the_line() -> None:
    g = StripGeometry()
    path = observed_path([0, 1, 2, 3, 5], [0.85, 0.92, float("nan"), 0.97, 0.60], g)
    assert path == "M30 54L38 40M54 30h0M70 84h0"
    assert observed_path([0, 1], [float("nan"), float("nan")], g) == ""


def test_band_points_when_two_forecast_days_goes_up_then_back() -> None:
    g = StripGeometry()
    assert band_points([28, 29], [0.90, 0.91], [0.95, 0.96], g) == ("254,34 262,32 262,42 254,44")


def test_strip_svg_when_hand_made_series_draws_lines_cells_and_labels() -> None:
    data = StripData(
        observed_days=[26, 27],
        observed=[0.90, 0.95],
        forecast_days=[28, 29],
        mean=[0.93, 0.98],
        low=[0.90, 0.91],
        high=[0.95, 0.96],
        levels=[2, 3],
        tips=["Tue <13> Jan", "Wed"],
        start_label="from 16 Dec",
    )
    svg = strip_svg(data, "Trust <A>")
    xml.dom.minidom.parseString(svg)  # well-formed
    assert '<line x1="26" x2="306" y1="40" y2="40"' in svg
    assert '<line x1="26" x2="306" y1="30" y2="30"' in svg
    assert ">92%</text>" in svg and ">97%</text>" in svg
    assert 'd="M238 44L246 34"' in svg  # observed
    assert 'd="M254 38L262 28"' in svg  # forecast mean
    assert '<rect x="250" y="87" width="8" height="14" fill="#f9a825"' in svg
    assert '<rect x="258" y="87" width="8" height="14" fill="#e65100"' in svg
    assert 'fill="#111111">2</text>' in svg
    assert "<title>Trust &lt;A&gt;</title>" in svg
    assert "Tue &lt;13&gt; Jan" in svg


def test_national_page_when_site_id_is_script_escapes_every_string(five: pd.DataFrame) -> None:
    w = five.copy()
    evil = "<script>alert(1)</script>"
    w.loc[w["site_id"] == "A", "site_id"] = evil
    w["site_name"] = w["site_id"].map({evil: "St <b> & Co"})
    w["reasons"] = [["occupancy <em>97%</em>"]] * len(w)
    page = national_page(
        w,
        _history([evil]),
        pd.Series({evil: 4}),
        as_of=AS_OF,
        issued="2026-01-12 06:30",
        model_ref="models:/<x>@champion",
        title="Beds <&>",
    )
    assert "<script" not in page
    assert "St <b>" not in page and "<em>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "St &lt;b&gt; &amp; Co" in page
    assert "occupancy &lt;em&gt;97%&lt;/em&gt;" in page
    assert "models:/&lt;x&gt;@champion" in page
    assert "<h1>Beds &lt;&amp;&gt;: Monday 12 January 2026</h1>" in page


def test_national_page_when_150_trusts_has_150_strips_sorted_by_level() -> None:
    warnings, history, previous = synthetic_inputs(150, as_of=AS_OF)
    page = national_page(warnings, history, previous, **PAGE_ARGS)
    svgs = re.findall(r'<svg class="strip".*?</svg>', page)
    assert len(svgs) == 150
    assert page.count('<figure id="trust-') == 150
    for svg in svgs[:5]:
        xml.dom.minidom.parseString(svg)
    heads = headline_levels(warnings)
    captions = re.findall(r'<figcaption><span class="lv lv(\d)">', page)
    assert [int(c) for c in captions] == heads["level"].tolist()
    assert captions == sorted(captions, reverse=True)
    counts = level_counts(heads)
    for level in range(1, 5):
        assert f'<div class="count lv{level}"><b>{counts[level]}</b>' in page
    assert "new (not in yesterday's issue)" in page  # T001 is missing from yesterday
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # no external assets
    assert "<script" not in page


def test_national_page_when_column_missing_raises(five: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"warnings lacks column\(s\) occupancy_q0.95"):
        national_page(five.drop(columns="occupancy_q0.95"), _history(["A"]), None, **PAGE_ARGS)


def test_national_page_when_level_outside_1_to_4_raises(five: pd.DataFrame) -> None:
    bad = five.assign(level=five["level"].replace({4: 5}))
    with pytest.raises(ValueError, match=r"warnings level must be 1\.\.4, got 5"):
        national_page(bad, _history(["A"]), None, **PAGE_ARGS)


def test_write_national_page_when_staged_or_alone_writes_one_file(
    tmp_path: Path, five: pd.DataFrame
) -> None:
    alone = write_national_page(
        tmp_path / "national.html", five, _history(["A"]), None, **PAGE_ARGS
    )
    assert alone.read_text(encoding="utf-8").startswith("<!doctype html>")
    target = tmp_path / "report" / "national.html"
    with StagedOutputs() as staged:
        write_national_page(target, five, _history(["A"]), None, staged=staged, **PAGE_ARGS)
        assert not target.exists()  # renamed only when the whole report succeeds
    assert target.read_text(encoding="utf-8").endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "national.html",
        "national.html",
        "report",
    ]
