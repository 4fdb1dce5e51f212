"""The morning table at 80 columns: every day fits, every line is labelled, names are shown.

Rendered with a fixed width into a string: as a terminal of 80 columns (``force_terminal``) and
as piped output (not a terminal, where :func:`layout_width` lays out for 80 even when the
terminal the command started from is wider). Also the occupancy wording of the reasons (the
figure that decided the level), the one advice wording and the ``--fail-on-level`` message.
"""

import io

import pandas as pd
import pytest
from rich.console import Console

from forecasting.cli.render import (
    CELL_KEY,
    REVIEW_KEY,
    fail_on_level_message,
    layout_width,
    show_warnings,
    site_label,
)
from forecasting.cli.render_pressure import PRESSURE_KEY, show_pressure
from forecasting.config import Config, SiteSettings
from forecasting.escalation.levels import recommend_levels
from forecasting.escalation.reasons import risk_reasons
from forecasting.escalation.wording import format_occupancy, review_advice

DAYS = pd.date_range("2026-12-02", periods=7, freq="D")  # Wed 02 .. Tue 08
HEADERS = ["Wed 02", "Thu 03", "Fri 04", "Sat 05", "Sun 06", "Mon 07", "Tue 08"]
NAMES = {"RAA": "Northgate General", "RAB": "Riverside Royal Infirmary"}
CFG = Config(sites={sid: SiteSettings(name=name) for sid, name in NAMES.items()})
# one site's week: level, mean, q0.05, q0.95, p_surge, occupancy, electives to review
WEEK = [
    (4, 291, 232, 355, 0.04, 1.015, 15),
    (4, 323, 264, 387, 0.18, 1.02, 17),
    (3, 338, 279, 402, 0.25, 0.924, 15),
    (2, 323, 264, 387, 0.22, 0.919, 0),
    (3, 312, 253, 376, 0.12, 0.94, 0),
    (4, 330, 271, 394, 0.04, 0.971, 17),
    (1, 349, 290, 413, 0.03, 0.849, 0),
]


def _warnings(sites=("RAA", "RAB", "RAC"), scale: float = 1.0) -> pd.DataFrame:
    rows = []
    for site in sites:
        for day, (level, mean, lo, hi, p, occ, review) in zip(DAYS, WEEK, strict=True):
            rows.append(
                {
                    "site_id": site,
                    "date": day,
                    "level": level,
                    "attendances_mean": mean * scale,
                    "attendances_q0.05": lo * scale,
                    "attendances_q0.95": hi * scale,
                    "p_surge": p,
                    "occupancy": occ,
                    "electives_to_review": review,
                    "reasons": [f"Forecast occupancy {format_occupancy(occ)} at {site}"],
                    "advice": review_advice(review, 20, ("cancer", "urgent"), 0.92),
                }
            )
    return pd.DataFrame(rows)


def _render(warnings: pd.DataFrame, *, terminal: bool, width: int = 80) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    show_warnings(console, warnings, "Warnings from data to Tue 01 Dec 2026", CFG)
    return out.getvalue()


def _grid_lines(text: str, key: str) -> list[list[str]]:
    """The cells of every grid line whose key is ``key`` (one list per site)."""
    n = len(key.split())
    return [x.split()[n:] for x in text.splitlines() if x.split()[:n] == key.split()]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _check_fits(text: str, width: int = 80) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text


def test_warnings_when_terminal_is_80_columns_fit_all_seven_days_with_every_value():
    text = _render(_warnings(), terminal=True)
    _check_fits(text)
    header = next(line for line in text.splitlines() if line.startswith("site"))
    assert header.split()[1:] == [x for h in HEADERS for x in h.split()]
    assert _grid_lines(text, "level") == [["4", "4", "3", "2", "3", "4", "1"]] * 3
    assert (
        _grid_lines(text, "attendances") == [["291", "323", "338", "323", "312", "330", "349"]] * 3
    )
    assert _grid_lines(text, "90% range")[0] == [
        "232–355",
        "264–387",
        "279–402",
        "264–387",
        "253–376",
        "271–394",
        "290–413",
    ]
    assert _grid_lines(text, "surge chance")[0] == ["4%", "18%", "25%", "22%", "12%", "4%", "3%"]
    # one decimal where a whole percentage would sit on the wrong side of a line
    assert _grid_lines(text, "occupancy")[0] == [
        "101%",
        "102%",
        "92.4%",
        "91.9%",
        "94%",
        "97.1%",
        "84.9%",
    ]
    # level 3 or more: the electives to review; other days blank
    assert _grid_lines(text, REVIEW_KEY)[0] == ["15", "17", "15", "0", "17"]


def test_warnings_when_piped_are_laid_out_for_80_even_from_a_wide_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    console = Console(file=io.StringIO(), width=200)  # not a terminal: a log file, cron mail
    assert layout_width(console) == 80
    out = io.StringIO()
    piped = Console(file=out, width=200)
    show_warnings(piped, _warnings(), "Warnings", CFG, layout_width(piped))
    text = out.getvalue()
    _check_fits(text)
    assert all(h in text for h in HEADERS)
    assert "\x1b[" not in text  # no colour codes in a log


def test_layout_width_when_columns_set_or_terminal_uses_the_console_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert layout_width(Console(file=io.StringIO(), width=120)) == 120
    monkeypatch.delenv("COLUMNS")
    assert layout_width(Console(file=io.StringIO(), width=100, force_terminal=True)) == 100


def test_warnings_when_attendances_have_four_digits_split_the_week_into_4_and_3_days():
    text = _render(_warnings(scale=10.0), terminal=False)
    _check_fits(text)
    headers = [line for line in text.splitlines() if line.startswith("site")]
    assert [h.split()[1:] for h in headers] == [
        ["Wed", "02", "Thu", "03", "Fri", "04", "Sat", "05"],
        ["Sun", "06", "Mon", "07", "Tue", "08"],
    ]
    assert _grid_lines(text, "90% range")[0] == ["2320–3550", "2640–3870", "2790–4020", "2640–3870"]


def test_warnings_when_sites_have_names_show_id_and_name_in_table_and_reasons():
    text = _flat(_render(_warnings(), terminal=True))
    assert "RAA (Northgate General) level" in text  # the name row, then the key lines
    assert "RAB (Riverside Royal Infirmary) level" in text
    assert "RAC level" in text  # no name: the id alone
    assert "RAA (Northgate General) Wed 02, level 4: Forecast occupancy 101% at RAA." in text


def test_warnings_key_names_every_line_and_the_review_wording():
    text = _render(_warnings(), terminal=True)
    keys = [line.split("  ")[0] for line in text.splitlines() if line.split("  ")[0] in CELL_KEY]
    assert keys[:5] == list(CELL_KEY)
    flat = _flat(text)
    assert "to review: non-urgent elective admissions to review for deferral" in flat
    assert "(never cancer or urgent work)" in flat
    assert "Review 15 of 20 deferrable elective admissions for deferral" in flat
    assert "defer " not in flat.replace("for deferral", "")


def test_site_label_when_name_missing_or_equal_to_id_is_the_id():
    assert site_label("RAA", NAMES) == "RAA (Northgate General)"
    assert site_label("RXX", NAMES) == "RXX"
    assert site_label("RAA", {"RAA": "RAA"}) == "RAA"


def test_fail_on_level_message_when_one_site_one_day_names_both():
    w = _warnings(sites=("RXX",)).assign(level=[1, 1, 1, 1, 1, 1, 3])
    cfg = Config(sites={"RXX": SiteSettings(name="Royal X")})
    assert fail_on_level_message(w, 3, cfg) == (
        "Level 3 reached at RXX (Royal X) on Tue 2026-12-08; exiting 1 because --fail-on-level 3"
    )


def test_fail_on_level_message_when_several_sites_names_each_with_its_worst_days():
    w = _warnings(sites=("RAA", "RAC"))
    w["level"] = w["level"].where(w["site_id"] == "RAA", w["level"].clip(upper=3))
    assert fail_on_level_message(w, 3, CFG) == (
        "Level 4 reached at RAA (Northgate General) on Wed 2026-12-02, Thu 2026-12-03, "
        "Mon 2026-12-07; level 3 at RAC on Wed 2026-12-02, Thu 2026-12-03, Fri 2026-12-04, "
        "Sun 2026-12-06, Mon 2026-12-07; exiting 1 because --fail-on-level 3"
    )


def test_fail_on_level_message_when_many_sites_names_ten_and_counts_the_rest():
    sites = tuple(f"R{i:02d}" for i in range(12))
    w = _warnings(sites=sites).assign(level=1)
    message = fail_on_level_message(w, 1, CFG)
    assert message.startswith("Level 1 reached at R00 on Wed 2026-12-02, Thu 2026-12-03")
    assert message.endswith(
        "R09 on "
        + ", ".join(f"{d:%a %Y-%m-%d}" for d in DAYS)
        + ("; and 2 more sites; exiting 1 because --fail-on-level 1")
    )


@pytest.mark.parametrize(
    ("occupancy", "level", "reason"),
    [
        (0.924, 3, "Forecast occupancy 92.4% is above the 92% ceiling"),
        (0.919, 2, "Forecast occupancy 91.9% is above the 85% comfort line"),
        (0.92, 3, "Forecast occupancy 92% is at the 92% ceiling"),
        (0.97, 4, "Forecast occupancy 97% is at the 97% severe line"),
    ],
)
def test_risk_reasons_when_occupancy_near_a_line_show_the_figure_that_decided_the_level(
    occupancy, level, reason
):
    cfg = Config()
    assert recommend_levels([0.0], [0.0], [occupancy], cfg)[0] == level
    row = pd.Series(
        {
            "p_surge": 0.0,
            "p_surge_high": 0.0,
            "occupancy": occupancy,
            "occupancy_q_high": occupancy,
            "level": level,
        }
    )
    assert risk_reasons(row, cfg)[0] == reason


def test_review_advice_when_electives_to_review_uses_the_table_wording():
    assert review_advice(15, 20, ("cancer", "urgent"), 0.92) == (
        "Review 15 of 20 deferrable elective admissions for deferral (never cancer or urgent "
        "work) to keep occupancy below 92%"
    )
    assert review_advice(0, 20, ("cancer",), 0.92) == ""


def _pressure_rows() -> pd.DataFrame:
    rows = []
    for i, site in enumerate(("RAA", "RBB", "RCC")):
        for day, (level, *_rest, occ, _review) in zip(DAYS, WEEK, strict=True):
            rows.append(
                {
                    "site_id": site,
                    "date": day,
                    "level": min(4, level + (i == 0)),
                    "occupancy": occ,
                    "reasons": ["occupancy 95.2% (band 3, 4 points)"],
                    "advice": "no deferrable elective admissions",
                }
            )
    return pd.DataFrame(rows)


def test_pressure_table_when_piped_at_80_fits_and_labels_each_day():
    out = io.StringIO()
    console = Console(file=out, width=80)
    show_pressure(console, _pressure_rows(), "National bed pressure", CFG, 80)
    text = out.getvalue()
    _check_fits(text)
    lines = text.splitlines()
    assert sum(line.count(PRESSURE_KEY) for line in lines) == 7
    assert all(h in text for h in HEADERS)
    flat = _flat(text)
    # the name wraps under the id in the trust column
    assert "RAA 4 4 101 4 102 4 92.4 3 91.9 4 94 4 97.1 2 84.9 (Northgate General)" in flat
    assert "RBB 4 4 101 4 102 3 92.4 2 91.9 3 94 4 97.1 1 84.9" in flat
    assert "occ%, forecast G&A occupancy" in flat


def test_warnings_when_values_missing_show_dash_or_na_instead_of_failing():
    w = _warnings(sites=("RAA",))
    w.loc[0, "p_surge"] = float("nan")
    w.loc[1, "electives_to_review"] = float("nan")
    w.loc[2, "occupancy"] = float("nan")
    text = _render(w, terminal=False)
    _check_fits(text)
    assert _grid_lines(text, "surge chance")[0][0] == "–"
    assert _grid_lines(text, REVIEW_KEY)[0][:2] == ["15", "–"]
    assert _grid_lines(text, "occupancy")[0][2] == "n/a"


def test_warnings_when_today_is_nowcast_split_eight_days_into_two_runs_of_four():
    today = _warnings(sites=("RAA",)).iloc[[0]].assign(date=pd.Timestamp("2026-12-01"))
    text = _render(pd.concat([today, _warnings(sites=("RAA",))]), terminal=False)
    _check_fits(text)
    headers = [line.split()[1:] for line in text.splitlines() if line.startswith("site")]
    assert headers == [
        ["Tue", "01", "Wed", "02", "Thu", "03", "Fri", "04"],
        ["Sat", "05", "Sun", "06", "Mon", "07", "Tue", "08"],
    ]


def test_warnings_when_more_than_30_sites_show_the_30_most_pressed_and_say_so():
    sites = tuple(f"R{i:02d}" for i in range(32))
    w = _warnings(sites=sites).assign(level=1, occupancy=0.8)
    w.loc[w["site_id"].isin(["R30", "R31"]), "level"] = 4
    text = _render(w, terminal=False)
    _check_fits(text)
    shown = [x.split()[0] for x in text.splitlines() if x.startswith("R") and len(x.split()) == 1]
    assert shown == [f"R{i:02d}" for i in range(28)] + ["R30", "R31"]
    assert (
        "The 30 most pressed sites (highest level, then occupancy); 2 more: --format json "
        "lists all." in _flat(text)
    )
    assert "R31 Wed 02, level 4" in text and "R29 Wed 02" not in text
