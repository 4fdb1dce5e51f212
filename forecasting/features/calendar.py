"""Features of the target day's calendar: weekday, month, annual Fourier terms, holidays."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CalendarFeatures:
    """Day of week, month, day of year and ``fourier_terms`` sine/cosine pairs of the year.

    Attributes:
        fourier_terms: Number of annual harmonics (0 for none).
    """

    fourier_terms: int = 3

    @property
    def name(self) -> str:
        """Self-describing name."""
        return f"calendar_fourier{self.fourier_terms}"

    @property
    def columns(self) -> list[str]:
        """Names of the columns of :meth:`transform`, in order."""
        cols = ["dayofweek", "month", "dayofyear"]
        for k in range(1, self.fourier_terms + 1):
            cols += [f"year_sin{k}", f"year_cos{k}"]
        return cols

    def transform(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """Return one row of features per date."""
        d = pd.DatetimeIndex(dates)
        out = {
            "dayofweek": d.dayofweek.to_numpy(),
            "month": d.month.to_numpy(),
            "dayofyear": d.dayofyear.to_numpy(),
        }
        t = 2 * np.pi * (d.dayofyear.to_numpy() - 1) / 365.25
        for k in range(1, self.fourier_terms + 1):
            out[f"year_sin{k}"] = np.sin(k * t)
            out[f"year_cos{k}"] = np.cos(k * t)
        return pd.DataFrame(out, index=d)


@lru_cache(maxsize=16)
def country_calendar(country: str) -> Any:
    """The ``holidays`` class of one country, loaded from its own module, or ``None``.

    ``holidays.country_holidays`` imports ``holidays.countries``, whose ``__init__`` imports
    every country's module (about 250; 0.2-0.5 s, most of the package's cost). The class is the
    same code loaded from its file alone (under a private module name) and gives the same days
    (tests compare them); ``None`` (use ``country_holidays``) if the registry does not name the
    country or its module cannot be loaded on its own.
    """
    import importlib.util

    from holidays.registry import COUNTRIES

    found = [(module, names[0]) for module, names in COUNTRIES.items() if country in names[1:]]
    if len(found) != 1:
        return None
    module, class_name = found[0]
    loaded = sys.modules.get(f"holidays.countries.{module}")
    if loaded is not None:
        return getattr(loaded, class_name, None)
    try:
        spec = importlib.util.find_spec("holidays")
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / "countries" / f"{module}.py"
        own = importlib.util.spec_from_file_location(f"_forecasting_holidays_{module}", path)
        if own is None or own.loader is None:
            return None
        loaded = importlib.util.module_from_spec(own)
        own.loader.exec_module(loaded)
    except Exception:  # any failure: the package's own loader (slower, same days)
        return None
    return getattr(loaded, class_name, None)


@lru_cache(maxsize=64)
def holiday_dates(country: str, subdiv: str | None, first: int, last: int) -> pd.DatetimeIndex:
    """Public holidays of years ``first..last`` (``holidays`` package), sorted.

    Raises:
        ValueError: If the country or subdivision code is unknown (the message says the fix).
    """
    import holidays

    years = range(first, last + 1)
    try:
        calendar = country_calendar(country)
        if calendar is None:
            cal = holidays.country_holidays(country, subdiv=subdiv, years=years)
        else:
            cal = calendar(years=years, subdiv=subdiv)
    except NotImplementedError as exc:
        raise ValueError(
            f"unknown holiday calendar country={country!r} subdiv={subdiv!r} ({exc}). Fix: use "
            "a country/subdivision code of the `holidays` package, e.g. GB/ENG or CH/BE."
        ) from exc
    return pd.DatetimeIndex(sorted(pd.Timestamp(day) for day in cal))


@dataclass(frozen=True)
class HolidayFeatures:
    """Public holidays (``holidays`` package) with effects ``window`` days before and after.

    Features: ``holiday`` (1 on the day), ``holiday_before_k`` (the holiday is k days later),
    ``holiday_after_k`` (it was k days earlier), and ``christmas_period`` (24 Dec to 1 Jan).

    Attributes:
        country: Country code, e.g. ``"GB"``.
        subdiv: Subdivision code, e.g. ``"ENG"``; ``None`` for the whole country.
        window: Days before and after with their own indicator.
    """

    country: str = "GB"
    subdiv: str | None = "ENG"
    window: int = 2

    @property
    def name(self) -> str:
        """Self-describing name."""
        where = self.country + (f"-{self.subdiv}" if self.subdiv else "")
        return f"holidays_{where}_window{self.window}"

    @property
    def columns(self) -> list[str]:
        """Names of the columns of :meth:`transform`, in order."""
        cols = ["holiday"]
        for k in range(1, self.window + 1):
            cols += [f"holiday_before_{k}", f"holiday_after_{k}"]
        return [*cols, "christmas_period"]

    def holidays_in(self, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """The holidays between the first and last date (padded by the window)."""
        d = pd.DatetimeIndex(dates)
        if len(d) == 0:
            return pd.DatetimeIndex([])
        return holiday_dates(self.country, self.subdiv, d.min().year - 1, d.max().year + 1)

    def transform(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """Return one row of features per date."""
        d = pd.DatetimeIndex(dates).normalize()
        hol = self.holidays_in(d)
        out = {"holiday": d.isin(hol).astype(np.int8)}
        for k in range(1, self.window + 1):
            shift = pd.Timedelta(days=k)
            out[f"holiday_before_{k}"] = (d + shift).isin(hol).astype(np.int8)
            out[f"holiday_after_{k}"] = (d - shift).isin(hol).astype(np.int8)
        md = d.month * 100 + d.day
        out["christmas_period"] = ((md >= 1224) | (md <= 101)).astype(np.int8)
        return pd.DataFrame(out, index=d)
