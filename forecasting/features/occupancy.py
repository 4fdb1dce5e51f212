"""Occupancy features per (cutoff, horizon), computed within the cutoff's segment only.

A segment is a run of consecutive days of one site (winter-only data has one per winter, see
:mod:`forecasting.data.segments`). For a cutoff ``c`` (the last observed day, an index inside
its segment) and a horizon ``h`` (target day ``c + h``), every feature reads days
``start..c`` of that segment only: no lag or rolling window spans a gap, and nothing after the
cutoff is used. The one summary of earlier segments is the site's own level
(``prev_segment_occ``: mean occupancy of the previous segment), which ends before the segment
starts.

Counts are scaled by the cutoff's *scale*: beds open at the cutoff (carried forward within the
segment when a day lacks it) or, without ``beds``, the segment's trailing 14-day mean of the
target. Scaled counts are occupancy (a share of beds) and scaled changes are occupancy points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from forecasting.data.schema import DATE, SITE, TARGET
from forecasting.data.segments import segment_ids
from forecasting.features.calendar import holiday_dates

BEDS = "beds"
SCALE_WINDOW = 14
#: Optional exogenous columns (DemandFrame names) used as per-bed rates when present.
DEFAULT_EXOGENOUS: tuple[str, ...] = (
    "ambulance_handover_over_60min",
    "long_stay_21d",
    "long_stay_7d",
    "beds_closed_norovirus",
)


@dataclass(frozen=True)
class Segment:
    """One site's run of consecutive days, as arrays (index 0 is the segment's first day).

    Attributes:
        y: Target counts.
        beds: Beds open (NaN where unknown).
        exog: Optional exogenous columns by name.
        prev_level: Mean occupancy (or scaled level) of the site's previous segment, or NaN.
        dow: Day of the week of each day (0 = Monday); ``None`` when unknown.
        prev_profile: The previous segment's weekday profile (7 values), or ``None``.
    """

    y: np.ndarray
    beds: np.ndarray
    exog: dict[str, np.ndarray] = field(default_factory=dict)
    prev_level: float = float("nan")
    dow: np.ndarray | None = None
    prev_profile: np.ndarray | None = None

    def scale(self) -> np.ndarray:
        """Scale at each day: beds open (carried forward) or the trailing 14-day mean."""
        beds = pd.Series(np.where(self.beds > 0, self.beds, np.nan)).ffill().to_numpy()
        level = _rolling(self.y, SCALE_WINDOW, "mean")
        return np.where(np.isfinite(beds), beds, level)


class SegmentTransform(Protocol):
    """A feature group of (cutoff, horizon) pairs of one segment."""

    @property
    def name(self) -> str:
        """Self-describing name."""
        ...

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (all index arrays inside the segment, ``c`` <= last day)."""
        ...


def _nanmean_rows(stacked: np.ndarray) -> np.ndarray:
    """Column means over the finite values (NaN where none is)."""
    n = np.isfinite(stacked).sum(axis=0)
    total = np.nansum(stacked, axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _take(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``x[idx]`` with NaN where ``idx`` falls before the segment start."""
    out = np.full(len(idx), np.nan)
    ok = idx >= 0
    out[ok] = x[idx[ok]]
    return out


def _rolling(x: np.ndarray, window: int, how: str) -> np.ndarray:
    """Trailing rolling mean or sample std within one segment (needs half the window).

    Missing values are skipped (counted out of the window's observations).
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    v = np.where(ok, x, 0.0)

    def trailing(a: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(a)])
        lo = np.maximum(np.arange(1, len(a) + 1) - window, 0)
        return c[1:] - c[lo]

    n = trailing(ok.astype(float))
    total = trailing(v)
    enough = n >= max(1, -(-window // 2))
    with np.errstate(all="ignore"):
        mean = total / n
        if how == "mean":
            return np.where(enough, mean, np.nan)
        sq = trailing(v * v)
        var = np.maximum(sq - n * mean * mean, 0.0) / (n - 1)
        return np.where(enough & (n > 1), np.sqrt(var), np.nan)


@dataclass(frozen=True)
class OccupancyLags:
    """Recent occupancy: last value, 1- and 7-day changes, trailing means and volatility.

    Features (``s`` = scale at the cutoff): ``occ_last = y[c]/s``, ``diff1 = (y[c]-y[c-1])/s``,
    ``diff7 = (y[c]-y[c-7])/s``, ``mean{w}_gap = (mean_w - y[c])/s``, ``std{w}``,
    ``vol14`` (std of daily changes over 14 days / s), ``trend7 = (mean7[c]-mean7[c-7])/s``,
    ``seg_mean_gap`` (segment mean so far minus the last value) and ``prev_segment_gap``.

    Attributes:
        windows: Trailing mean windows (days).
    """

    windows: tuple[int, ...] = (3, 7, 14)

    @property
    def name(self) -> str:
        """Self-describing name."""
        return "occupancy_lags_mean" + "-".join(str(w) for w in self.windows)

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (see the class docstring)."""
        del h
        y, s = seg.y, scale[c]
        last = y[c]
        out: dict[str, np.ndarray] = {"occ_last": last / s}
        out["diff1"] = (last - _take(y, c - 1)) / s
        out["diff7"] = (last - _take(y, c - 7)) / s
        for w in self.windows:
            out[f"mean{w}_gap"] = (_rolling(y, w, "mean")[c] - last) / s
        out["std7"] = _rolling(y, 7, "std")[c] / s
        out["vol14"] = _rolling(np.diff(y, prepend=np.nan), SCALE_WINDOW, "std")[c] / s
        mean7 = _rolling(y, 7, "mean")
        out["trend7"] = (mean7[c] - _take(mean7, c - 7)) / s
        expanding = pd.Series(y / scale).expanding().mean().to_numpy()
        out["seg_mean_gap"] = expanding[c] - out["occ_last"]
        ratio = seg.y / scale
        out["ratio_diff1"] = ratio[c] - _take(ratio, c - 1)
        out["ratio_diff7"] = ratio[c] - _take(ratio, c - 7)
        out["ratio_mean7_gap"] = _rolling(ratio, 7, "mean")[c] - ratio[c]
        out["prev_segment_occ"] = np.full(len(c), seg.prev_level)
        out["prev_segment_gap"] = seg.prev_level - out["occ_last"]
        return out


@dataclass(frozen=True)
class SameWeekdayChange:
    """The target weekday's usual step from the cutoff, seen in the last ``weeks`` weeks.

    ``sameweekday{j}_change = (y[c+h-7j] - y[c-7j]) / s``: how much the same weekday pair moved
    ``j`` weeks earlier (NaN before the segment start), and their mean
    ``sameweekday_mean_change``. ``sameweekday_last_gap = (y[c+h-7k] - y[c]) / s`` with
    ``k = ceil(h/7)``: last week's value of the target weekday against the last value.

    Attributes:
        weeks: How many earlier weeks to read.
    """

    weeks: int = 3

    @property
    def name(self) -> str:
        """Self-describing name."""
        return f"sameweekday_change{self.weeks}"

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (see the class docstring)."""
        y, s = seg.y, scale[c]
        out: dict[str, np.ndarray] = {}
        k = -(-h // 7)
        changes = []
        for j in range(1, self.weeks + 1):
            back = 7 * (k + j - 1)
            change = (_take(y, c + h - back) - _take(y, c - back)) / s
            out[f"sameweekday{j}_change"] = change
            changes.append(change)
        out["sameweekday_mean_change"] = _nanmean_rows(np.vstack(changes))
        out["sameweekday_last_gap"] = (_take(y, c + h - 7 * k) - y[c]) / s
        ratio = y / scale
        ratio_changes = [
            _take(ratio, c + h - 7 * (k + j - 1)) - _take(ratio, c - 7 * (k + j - 1))
            for j in range(1, self.weeks + 1)
        ]
        out["ratio_sameweekday_mean_change"] = _nanmean_rows(np.vstack(ratio_changes))
        out["ratio_sameweekday_last_gap"] = _take(ratio, c + h - 7 * k) - ratio[c]
        return out


def weekday_profile(ratio: np.ndarray, dow: np.ndarray) -> np.ndarray:
    """Expanding weekday profile of one segment's occupancy.

    ``out[w, i]`` is the mean over days ``<= i`` of weekday ``w`` of the occupancy minus its
    trailing 7-day mean (NaN before the weekday is seen).
    """
    dev = ratio - _rolling(ratio, 7, "mean")
    out = np.full((7, len(ratio)), np.nan)
    ok = np.isfinite(dev)
    for w in range(7):
        mask = ok & (dow == w)
        n = np.cumsum(mask)
        total = np.cumsum(np.where(mask, dev, 0.0))
        out[w] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out


@dataclass(frozen=True)
class WeekdayStep:
    """The site's usual step from the cutoff's weekday to the target's, in occupancy points.

    ``profile_step``: from the current segment up to the cutoff (weekday means of the
    occupancy minus its trailing 7-day mean); ``prev_profile_step``: the same from the
    previous segment (a whole earlier winter; NaN for the first).
    """

    @property
    def name(self) -> str:
        """Self-describing name."""
        return "weekday_step"

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (see the class docstring)."""
        nan = np.full(len(c), np.nan)
        if seg.dow is None:
            return {"profile_step": nan, "prev_profile_step": nan}
        prof = weekday_profile(seg.y / scale, seg.dow)
        w_cut = seg.dow[c]
        w_tgt = (w_cut + h) % 7
        out = {"profile_step": prof[w_tgt, c] - prof[w_cut, c]}
        prev = seg.prev_profile
        out["prev_profile_step"] = nan if prev is None else prev[w_tgt] - prev[w_cut]
        return out


@dataclass(frozen=True)
class BedsChange:
    """Beds open: log size, change over 1 and 7 days (share of today's), escalation ratio.

    Without beds every feature is NaN except ``log_scale``.
    """

    @property
    def name(self) -> str:
        """Self-describing name."""
        return "beds_change"

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (see the class docstring)."""
        del h
        b, s = seg.beds, scale[c]
        return {
            "log_scale": np.log1p(s),
            "beds_change1": (b[c] - _take(b, c - 1)) / s,
            "beds_change7": (b[c] - _take(b, c - 7)) / s,
            "beds_vs_mean14": b[c] / _rolling(b, SCALE_WINDOW, "mean")[c] - 1.0,
        }


@dataclass(frozen=True)
class ExogenousRates:
    """Optional pressure columns per bed at the cutoff and over its last 7 days (NaN if absent).

    Attributes:
        columns: DemandFrame column names (handover delays, long stays, norovirus closures).
    """

    columns: tuple[str, ...] = DEFAULT_EXOGENOUS

    @property
    def name(self) -> str:
        """Self-describing name."""
        return "exogenous_rates_" + "-".join(self.columns)

    def transform(
        self, seg: Segment, scale: np.ndarray, c: np.ndarray, h: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Features of the pairs (see the class docstring)."""
        del h
        out: dict[str, np.ndarray] = {}
        s = scale[c]
        for col in self.columns:
            x = seg.exog.get(col)
            if x is None:
                out[f"{col}_rate"] = np.full(len(c), np.nan)
                out[f"{col}_rate_mean7"] = np.full(len(c), np.nan)
                continue
            out[f"{col}_rate"] = x[c] / s
            out[f"{col}_rate_mean7"] = _rolling(x, 7, "mean")[c] / s
        return out


@dataclass(frozen=True)
class WinterCalendar:
    """Calendar of the cutoff and target days: weekdays, Christmas offset, bank holidays.

    Features: ``horizon``, ``dow_cutoff``, ``dow_target``, ``days_since_start`` (cutoff's
    index in its segment); with ``christmas``: ``xmas_offset_{cutoff,target}`` (days from the
    winter's 25 December, clipped to -30..45, so New Year is +7); ``holiday_target`` and
    ``days_{to,from}_holiday_{cutoff,target}`` (England bank holidays, clipped at 14) and
    ``holidays_between`` (bank holidays in ``(cutoff, target]``).

    Attributes:
        country: ``holidays`` country code.
        subdiv: Subdivision code.
        christmas: Whether to add the Christmas and bank-holiday features.
    """

    country: str = "GB"
    subdiv: str | None = "ENG"
    christmas: bool = True

    @property
    def name(self) -> str:
        """Self-describing name."""
        where = self.country + (f"-{self.subdiv}" if self.subdiv else "")
        return f"winter_calendar_{where}" + ("_christmas" if self.christmas else "")

    def transform_dates(
        self, cutoff: pd.Series, target: pd.Series, since_start: np.ndarray
    ) -> pd.DataFrame:
        """Calendar features of each row's cutoff and target date."""
        cd, td = pd.DatetimeIndex(cutoff), pd.DatetimeIndex(target)
        out: dict[str, np.ndarray] = {
            "horizon": ((td - cd).days).to_numpy(),
            "dow_cutoff": cd.dayofweek.to_numpy(),
            "dow_target": td.dayofweek.to_numpy(),
            "days_since_start": np.asarray(since_start, dtype=float),
        }
        if self.christmas:
            out["xmas_offset_cutoff"] = christmas_offset(cd)
            out["xmas_offset_target"] = christmas_offset(td)
            hol = self._holidays(cd.union(td))
            out["holiday_target"] = td.isin(hol).astype(np.int8)
            for label, d in (("cutoff", cd), ("target", td)):
                to, since = holiday_distance(d, hol)
                out[f"days_to_holiday_{label}"] = to
                out[f"days_from_holiday_{label}"] = since
            out["holidays_between"] = _count_between(cd, td, hol)
        return pd.DataFrame(out)

    def _holidays(self, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        if len(dates) == 0:
            return pd.DatetimeIndex([])
        return holiday_dates(self.country, self.subdiv, dates.min().year - 1, dates.max().year + 1)


def christmas_offset(dates: pd.DatetimeIndex, clip: tuple[int, int] = (-30, 45)) -> np.ndarray:
    """Days from the winter's 25 December (that year's from July, else the previous year's)."""
    d = pd.DatetimeIndex(dates)
    year = np.where(d.month >= 7, d.year, d.year - 1) - 1970
    december = year.astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(11, "M")
    xmas = december.astype("datetime64[D]") + np.timedelta64(24, "D")
    offset = (d.to_numpy(dtype="datetime64[D]") - xmas).astype(np.int64)
    return np.clip(offset, *clip).astype(float)


def holiday_distance(
    dates: pd.DatetimeIndex, hol: pd.DatetimeIndex, clip: int = 14
) -> tuple[np.ndarray, np.ndarray]:
    """Days to the next holiday (0 on one) and since the last one, each clipped at ``clip``."""
    days = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[D]").astype(np.int64)
    h = np.sort(hol.to_numpy(dtype="datetime64[D]").astype(np.int64))
    if len(h) == 0:
        full = np.full(len(days), float(clip))
        return full, full.copy()
    nxt = np.searchsorted(h, days, side="left")
    prv = np.searchsorted(h, days, side="right") - 1
    to = np.where(nxt < len(h), h[np.minimum(nxt, len(h) - 1)] - days, clip)
    since = np.where(prv >= 0, days - h[np.maximum(prv, 0)], clip)
    return np.minimum(to, clip).astype(float), np.minimum(since, clip).astype(float)


def _count_between(
    cutoff: pd.DatetimeIndex, target: pd.DatetimeIndex, hol: pd.DatetimeIndex
) -> np.ndarray:
    h = np.sort(hol.to_numpy(dtype="datetime64[D]").astype(np.int64))
    c = cutoff.to_numpy(dtype="datetime64[D]").astype(np.int64)
    t = target.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return (np.searchsorted(h, t, side="right") - np.searchsorted(h, c, side="right")).astype(float)


@dataclass(frozen=True)
class OccupancyDesign:
    """Design rows of the occupancy model: training pairs and prediction pairs.

    The training target is the change from the cutoff in occupancy points,
    ``(y[c+h] - y[c]) / s[c]``; ``meta`` carries what turns it back into counts
    (``y_last``, ``scale``) and the observed ``y``.

    Attributes:
        transforms: Segment feature groups.
        calendar: Calendar of the cutoff and target days.
        min_history: Fewest days of the segment up to the cutoff for a training row.
    """

    transforms: tuple[SegmentTransform, ...] = (
        OccupancyLags(),
        SameWeekdayChange(),
        WeekdayStep(),
        BedsChange(),
        ExogenousRates(),
    )
    calendar: WinterCalendar = WinterCalendar()
    min_history: int = 1

    @property
    def name(self) -> str:
        """Self-describing name."""
        return "+".join([*(t.name for t in self.transforms), self.calendar.name])

    def training_rows(
        self, frame: pd.DataFrame, max_horizon: int, stride: int = 1
    ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        """Every (cutoff, horizon) pair whose target day is observed in the cutoff's segment.

        Args:
            frame: DemandFrame (``site_id, date, attendances[, beds, …]``).
            max_horizon: Largest horizon.
            stride: Keep every ``stride``-th cutoff of each segment.

        Returns:
            ``(X, target, meta)``; rows with a missing target are dropped.
        """
        X, meta = self._rows(frame, max_horizon, train=True, stride=stride)
        target = ((meta["y"] - meta["y_last"]) / meta["scale"]).to_numpy(dtype=float)
        ok = np.isfinite(target) & np.isfinite(meta["scale"].to_numpy()) & (meta["scale"] > 0)
        ok = ok.to_numpy() if isinstance(ok, pd.Series) else ok
        return X[ok].reset_index(drop=True), target[ok], meta[ok].reset_index(drop=True)

    def prediction_rows(
        self, frame: pd.DataFrame, horizon: int
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The pairs (last day of each site, 1..horizon) from each site's latest segment."""
        return self._rows(frame, horizon, train=False, stride=1)

    def _rows(
        self, frame: pd.DataFrame, max_horizon: int, *, train: bool, stride: int
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        feats: dict[str, list[np.ndarray]] = {}
        metas: dict[str, list[np.ndarray]] = {}
        data = frame.sort_values([SITE, DATE]).reset_index(drop=True)
        exog_cols = [c for c in self._exogenous() if c in data.columns]
        arrays = _arrays(data, exog_cols)
        dates_all = data[DATE].to_numpy(dtype="datetime64[D]")
        sites = data[SITE].astype(str).to_numpy()
        dows = pd.DatetimeIndex(data[DATE]).dayofweek.to_numpy()
        for index in data.groupby(SITE, sort=True, observed=True).indices.values():
            ids = segment_ids(dates_all[index])
            prev = float("nan")
            profile: np.ndarray | None = None
            for sid in range(int(ids[-1]) + 1):
                rows = index[ids == sid]
                seg = _segment(arrays, rows, exog_cols, prev, dows[rows], profile)
                scale = seg.scale()
                if train or sid == int(ids[-1]):
                    c, h = _pairs(len(rows), max_horizon, train, stride, self.min_history)
                    if len(c):
                        for t in self.transforms:
                            _extend(feats, t.transform(seg, scale, c, h))
                        cut = dates_all[rows][c]
                        _extend(
                            metas,
                            {
                                SITE: np.repeat(sites[rows[0]], len(c)),
                                "cutoff": cut,
                                DATE: cut + h.astype("timedelta64[D]"),
                                "horizon": h,
                                "y_last": seg.y[c],
                                "scale": scale[c],
                                "scale_y": _take_forward(scale, c + h),
                                "beds_last": seg.beds[c],
                                "since_start": c.astype(float),
                                "y": _take_forward(seg.y, c + h),
                            },
                        )
                with np.errstate(all="ignore"):
                    ratio = seg.y / scale
                    if np.isfinite(ratio).any():
                        prev = float(np.nanmean(ratio))
                        profile = weekday_profile(ratio, dows[rows])[:, -1]
        if not metas:
            return pd.DataFrame(), pd.DataFrame(columns=[SITE, "cutoff", DATE, "horizon"])
        meta = pd.DataFrame({k: np.concatenate(v) for k, v in metas.items()})
        meta["cutoff"] = pd.to_datetime(meta["cutoff"]).astype("datetime64[ns]")
        meta[DATE] = pd.to_datetime(meta[DATE]).astype("datetime64[ns]")
        since = meta["since_start"].to_numpy(dtype=float)
        cal = self.calendar.transform_dates(meta["cutoff"], meta[DATE], since)
        X = pd.concat([pd.DataFrame({k: np.concatenate(v) for k, v in feats.items()}), cal], axis=1)
        return X, meta.drop(columns="since_start")

    def _exogenous(self) -> tuple[str, ...]:
        cols: list[str] = []
        for t in self.transforms:
            if isinstance(t, ExogenousRates):
                cols.extend(t.columns)
        return tuple(cols)


def _arrays(data: pd.DataFrame, exog_cols: Sequence[str]) -> dict[str, np.ndarray]:
    """The frame's numeric columns as float arrays (beds NaN when absent)."""
    n = len(data)
    out = {TARGET: data[TARGET].to_numpy(dtype=float)}
    out[BEDS] = data[BEDS].to_numpy(dtype=float) if BEDS in data else np.full(n, np.nan)
    for col in exog_cols:
        out[col] = data[col].to_numpy(dtype=float)
    return out


def _segment(
    arrays: dict[str, np.ndarray],
    rows: np.ndarray,
    exog_cols: Sequence[str],
    prev: float,
    dow: np.ndarray,
    profile: np.ndarray | None,
) -> Segment:
    exog = {c: arrays[c][rows] for c in exog_cols}
    return Segment(
        y=arrays[TARGET][rows],
        beds=arrays[BEDS][rows],
        exog=exog,
        prev_level=prev,
        dow=dow,
        prev_profile=profile,
    )


def _extend(store: dict[str, list[np.ndarray]], values: dict[str, np.ndarray]) -> None:
    for key, value in values.items():
        store.setdefault(key, []).append(np.asarray(value))


def _pairs(
    n: int, max_horizon: int, train: bool, stride: int, min_history: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cutoff and horizon index arrays of one segment of ``n`` days."""
    hs = np.arange(1, max_horizon + 1)
    if not train:
        return np.full(max_horizon, n - 1, dtype=np.int64), hs.astype(np.int64)
    cs = np.arange(min_history - 1, n - 1, max(1, stride))
    grid_c, grid_h = np.meshgrid(cs, hs, indexing="ij")
    c, h = grid_c.ravel(), grid_h.ravel()
    keep = c + h < n
    return c[keep].astype(np.int64), h[keep].astype(np.int64)


def _take_forward(y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``y[idx]`` with NaN past the segment's end (prediction rows)."""
    out = np.full(len(idx), np.nan)
    ok = idx < len(y)
    out[ok] = y[idx[ok]]
    return out
