"""The report page in a real browser: headless Chromium screenshots it, and its colours pass.

Needs a Chromium binary (Debian: ``apt-get install -y chromium``); skipped with the reason when
there is none. The contrast checks read the colours from the page itself: the level classes of
its stylesheet and the level cells drawn in its SVG charts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from forecasting.models.naive import SeasonalNaive
from forecasting.national.colours import AA_NORMAL_TEXT, LEVEL_COLOURS, contrast_ratio
from forecasting.report import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1280, 2000


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no Chromium binary on PATH (looked for " + ", ".join(BROWSERS) + "); "
        "install it with: apt-get install -y chromium"
    )


def _page(folder: Path) -> Path:
    dates = pd.date_range("2025-01-01", periods=70, freq="D")
    history = pd.concat(
        pd.DataFrame({"site_id": s, "date": dates, "attendances": 100.0 + 9 * i + (dates.day % 7)})
        for i, s in enumerate(["RAA", "RAB", "RAC"])
    )
    forecast = SeasonalNaive().fit(history).predict(7)
    warnings = forecast[["site_id", "date", "model"]].assign(
        level=[1, 2, 3, 4, 2, 2, 1] + [2] * 7 + [1] * 7,
        surge_threshold=120.0,
        p_surge=[0.1, 0.3, 0.6, 0.8, 0.3, 0.2, 0.1] * 3,
        occupancy=[0.84, 0.87, 0.93, 0.98, 0.90, 0.88, 0.85] * 3,
        attendances_mean=forecast["mean"],
        **{"attendances_q0.05": forecast["q0.05"], "attendances_q0.95": forecast["q0.95"]},
        electives_to_review=[0, 0, 12, 15, 0, 0, 0] * 3,
        site_name=["Northgate General"] * 7 + ["Riverside Royal"] * 7 + ["Eastfield"] * 7,
    )
    warnings["reasons"] = [["forecast occupancy above the comfort line"]] * len(warnings)
    paths = write_report(
        history,
        forecast,
        warnings,
        folder / "report",
        model_ref="models:/ed-demand@champion (version 7)",
        issued="2025-03-12 06:30",
    )
    return paths["index"]


def _screenshot(browser: str, page: Path, folder: Path) -> Path:
    shot = folder / "shot.png"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={folder / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return shot


@pytest.mark.slow
def test_report_page_when_rendered_in_headless_chromium_shows_charts_and_level_colours(
    tmp_path: Path,
) -> None:
    browser = _browser()
    shot = _screenshot(browser, _page(tmp_path), tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    pixels = {colour: count for count, colour in colours}
    non_white = sum(n for c, n in pixels.items() if c != (255, 255, 255))
    assert len(pixels) > 200  # text, lines and fills, not a blank or error page
    assert non_white > 0.08 * WIDTH * HEIGHT
    for level, hex_colour in LEVEL_COLOURS.items():  # every level cell drawn in its colour
        rgb_level = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert pixels.get(rgb_level, 0) > 300, level


def test_report_page_colours_when_read_from_its_css_and_svg_reach_wcag_aa(tmp_path: Path) -> None:
    html = _page(tmp_path).read_text(encoding="utf-8")
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    pairs = re.findall(
        r"\.lv(\d)\{background:(#[0-9a-fA-F]{6});color:(#[0-9a-fA-F]{6})\}", css.group(1)
    )
    assert sorted(lv for lv, _, _ in pairs) == ["1", "2", "3", "4"]
    ratios = {lv: contrast_ratio(fg, bg) for lv, bg, fg in pairs}
    assert min(ratios.values()) >= AA_NORMAL_TEXT, ratios
    assert round(ratios["2"], 2) == 9.58  # dark text on amber (white was 1.97:1)
    used = set(re.findall(r'class="(?:lv |count )?lv(\d)"', html))
    assert used == {"1", "2", "3", "4"}  # every level cell is styled by those classes
    cells = re.findall(
        r'fill="(#[0-9a-f]{6})"/><text [^>]*style="fill:(#[0-9a-f]{6});font-weight:600">level',
        html,
    )
    assert len(cells) == 21  # the level cell of each forecast day of the three charts
    assert min(contrast_ratio(fg, bg) for bg, fg in cells) >= AA_NORMAL_TEXT
    body = re.search(r"body\{[^}]*?color:(#[0-9a-f]{6});background:(#[0-9a-f]{6})", css.group(1))
    assert body is not None and contrast_ratio(*body.groups()) >= AA_NORMAL_TEXT
