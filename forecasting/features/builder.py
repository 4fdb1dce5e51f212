"""Direct multi-horizon design matrices: one row per site, cutoff and horizon.

Rows pair cutoff-relative lags (data up to the cutoff only) with features of the target day
(calendar, holidays, known-future exogenous values). The target is scaled by the cutoff's level.

Segments (winter-only data): every missing day between two rows of a site is a segment boundary
(:mod:`forecasting.data.segments`). Rows are built per site and segment (run of consecutive
days), so no lag, rolling window, same-weekday or yearly lag spans a gap: a feature whose
lookback leaves the cutoff's segment is missing (NaN, which LightGBM handles), and targets stay
inside the cutoff's segment. Prediction rows come from each site's latest segment. A contiguous
series is one segment: its rows are exactly those of the whole series.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import segment_ids
from forecasting.errors import DataError
from forecasting.features.calendar import CalendarFeatures, HolidayFeatures
from forecasting.features.lags import LagFeatures, rolling_level

META_COLUMNS = ("site_id", "cutoff", "date", "horizon", "level")
FEATURE_DTYPE = np.float32
SITE_COLUMN = "site"
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class _Segment:
    """One run of consecutive days of one site, with its exogenous values by day."""

    site: str
    g: pd.DataFrame
    y: np.ndarray
    exog: dict[str, pd.Series]

    @property
    def start_day(self) -> int:
        """The first day, in days since 1970-01-01."""
        return int(pd.Timestamp(self.g[schema.DATE].iloc[0]).value // _DAY_NS)


@dataclass(frozen=True)
class DirectFeatures:
    """Builds training and prediction rows for a direct multi-horizon model.

    Features are written chunk by chunk into one preallocated matrix (float32 from the
    ``*_matrix`` methods: computed in float64, then cast): no per-site frames are concatenated,
    so building the design of a large panel costs about its final size (rows x columns x 4
    bytes) and no more. ``training_rows`` and ``prediction_rows`` keep float64 values (those
    of the per-site builder they replace, so their users' models do not change).

    Attributes:
        calendar: Target-day calendar features.
        holidays: Target-day holiday features.
        lags: Cutoff-relative lag features.
        exogenous: Columns whose target-day values are known in advance (e.g. forecast
            temperature); prediction then needs them in ``future``.
        min_history: Fewest days before a cutoff for it to become a training row.
        chunk_rows: Most rows whose features are computed at once (within one segment of one
            site); bounds the float64 temporaries. The design does not depend on it.
    """

    calendar: CalendarFeatures = field(default_factory=CalendarFeatures)
    holidays: HolidayFeatures = field(default_factory=HolidayFeatures)
    lags: LagFeatures = field(default_factory=LagFeatures)
    exogenous: tuple[str, ...] = ()
    min_history: int = 28
    chunk_rows: int = 65_536

    @property
    def name(self) -> str:
        """Self-describing name of the whole feature set."""
        parts = [self.calendar.name, self.holidays.name, self.lags.name]
        parts += [f"exog_{c}" for c in self.exogenous]
        return "+".join(parts)

    @property
    def columns(self) -> list[str]:
        """Names of the feature columns, in order."""
        cols = ["horizon", *self.lags.columns, *self.calendar.columns, *self.holidays.columns]
        return cols + list(self.exogenous)

    def training_rows(
        self, frame: pd.DataFrame, horizon: int, stride: int = 1
    ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        """Rows for every cutoff with ``min_history`` days behind it and its target observed.

        Cutoffs, their lookbacks and their targets all lie in one segment of the site.

        Args:
            frame: A DemandFrame (missing days between a site's rows are segment boundaries).
            horizon: Largest horizon; rows are made for 1..horizon.
            stride: Use every ``stride``-th cutoff of each segment (thins large panels).

        Returns:
            Features (float64 columns ``columns``, one block), observed targets (raw counts)
            and meta columns (``META_COLUMNS``). :meth:`training_matrix` gives the same rows
            as float32 (half the memory).
        """
        X, y, meta = self.training_matrix(frame, horizon, stride, dtype=np.float64)
        return pd.DataFrame(X, columns=self.columns, copy=False), y, meta

    def training_meta(
        self, frame: pd.DataFrame, horizon: int, stride: int = 1
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """Targets and meta of the rows of :meth:`training_rows`, without their features.

        Cheap (no feature is computed): lets a model choose rows before building their
        features with :meth:`training_matrix`. ``site_id`` is categorical (sorted sites).
        """
        segments = self._training_segments(frame)
        y, meta, _ = self._build(segments, self._training_pairs(horizon, stride), features=False)
        assert y is not None and meta is not None
        return y, meta

    def training_matrix(
        self,
        frame: pd.DataFrame,
        horizon: int,
        stride: int = 1,
        rows: np.ndarray | None = None,
        sites: list[str] | None = None,
        with_meta: bool = True,
        dtype: type[np.floating[Any]] = FEATURE_DTYPE,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """The rows of :meth:`training_rows` as one float32 matrix, optionally a subset.

        Args:
            frame: A DemandFrame.
            horizon: Largest horizon.
            stride: Every ``stride``-th cutoff of each segment.
            rows: Positions (or a boolean mask) of the rows to build, in the order of
                :meth:`training_rows`; ``None`` for all. Only these rows' features are computed.
            sites: If given, a last column ``site`` holds each row's site as its position in
                ``sites`` (NaN if absent), for a categorical feature.
            with_meta: Whether to build the meta frame (an empty frame otherwise).
            dtype: Of the features (computed in float64, then cast).

        Returns:
            Features ``(rows, columns)`` in float32, targets and meta (``META_COLUMNS``).
        """
        segments = self._training_segments(frame)
        y, meta, X = self._build(
            segments,
            self._training_pairs(horizon, stride),
            rows=rows,
            sites=sites,
            with_meta=with_meta,
            categorical=False,
            dtype=dtype,
        )
        assert y is not None and X is not None
        return X, y, meta if meta is not None else pd.DataFrame()

    def prediction_rows(
        self, frame: pd.DataFrame, horizon: int, future: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Rows for horizons 1..horizon after each site's last day, from its latest segment.

        Raises:
            DataError: If an exogenous column's future values are missing.
        """
        X, meta = self.prediction_matrix(frame, horizon, future, dtype=np.float64)
        return pd.DataFrame(X, columns=self.columns, copy=False), meta

    def prediction_matrix(
        self,
        frame: pd.DataFrame,
        horizon: int,
        future: pd.DataFrame | None = None,
        sites: list[str] | None = None,
        dtype: type[np.floating[Any]] = FEATURE_DTYPE,
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """The rows of :meth:`prediction_rows` as one float32 matrix.

        ``sites`` and ``dtype``: as in :meth:`training_matrix`.
        """
        segments = []
        for site, g in _sites(frame):
            g = _latest_run(g)
            exog = _exog(g, self.exogenous)
            if self.exogenous:
                exog = _with_future(exog, site, g, future, self.exogenous, horizon)
            segments.append(_Segment(site, g, g[schema.TARGET].to_numpy(dtype=float), exog))

        def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
            return np.full(horizon, n - 1), np.arange(1, horizon + 1)

        _, meta, X = self._build(
            segments, pairs, sites=sites, with_y=False, categorical=False, dtype=dtype
        )
        assert X is not None and meta is not None
        return X, meta

    def _training_segments(self, frame: pd.DataFrame) -> list[_Segment]:
        return [
            _Segment(site, g, g[schema.TARGET].to_numpy(dtype=float), _exog(g, self.exogenous))
            for site, g in _runs(frame)
        ]

    def _training_pairs(
        self, horizon: int, stride: int
    ) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
        """(cutoff, horizon) index pairs of a segment of ``n`` days whose target is observed."""

        def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
            cut = np.arange(self.min_history - 1, n - 1, stride)
            c = np.repeat(cut, horizon)
            h = np.tile(np.arange(1, horizon + 1), len(cut))
            keep = c + h < n
            return c[keep], h[keep]

        return pairs

    def _build(
        self,
        segments: list[_Segment],
        pairs: Callable[[int], tuple[np.ndarray, np.ndarray]],
        *,
        rows: np.ndarray | None = None,
        sites: list[str] | None = None,
        features: bool = True,
        with_y: bool = True,
        with_meta: bool = True,
        categorical: bool = True,
        dtype: type[np.floating[Any]] = FEATURE_DTYPE,
    ) -> tuple[np.ndarray | None, pd.DataFrame | None, np.ndarray | None]:
        """Targets, meta and features of the selected rows, filled segment by segment.

        Two passes over the segments: the first counts the rows, the second writes each
        segment's rows (``chunk_rows`` at a time) into preallocated arrays.
        """
        counts = np.array([len(pairs(len(s.y))[0]) for s in segments], dtype=np.int64)
        total = int(counts.sum())
        if total == 0 and with_y:
            raise DataError(
                f"no site has more than {self.min_history} consecutive days of history to "
                "learn from",
                fix="supply more history",
            )
        keep = _mask(rows, total)
        m = total if keep is None else int(keep.sum())
        cols = self.columns + ([SITE_COLUMN] if sites is not None else [])
        X = np.empty((m, len(cols)), dtype=dtype) if features else None
        y = np.empty(m) if with_y else None
        site_codes = {s: i for i, s in enumerate(sites)} if sites is not None else {}
        names = sorted({s.site for s in segments})
        name_codes = {s: i for i, s in enumerate(names)}
        if with_meta:
            site_of = np.empty(m, dtype=np.int32)
            cutoff_day = np.empty(m, dtype=np.int64)
            horizon_of = np.empty(m, dtype=np.int64)
            level = np.empty(m)
        pos, offset = 0, 0
        for seg, count in zip(segments, counts, strict=True):
            c, h = pairs(len(seg.y))
            if keep is not None:
                sel = keep[offset : offset + count]
                c, h = c[sel], h[sel]
            offset += count
            k = len(c)
            if k == 0:
                continue
            end = pos + k
            if X is not None:
                lev = self._fill(seg, c, h, X[pos:end], site_codes.get(seg.site, np.nan), sites)
            else:
                lev = rolling_level(seg.y)[c]
            if y is not None:
                y[pos:end] = seg.y[c + h]
            if with_meta:
                site_of[pos:end] = name_codes[seg.site]
                cutoff_day[pos:end] = seg.start_day + c
                horizon_of[pos:end] = h
                level[pos:end] = lev
            pos = end
        if not with_meta:
            return y, None, X
        sites_cat = pd.Categorical.from_codes(cast(Any, site_of), categories=pd.Index(names))
        cutoff = (cutoff_day * _DAY_NS).view("datetime64[ns]")
        del cutoff_day
        meta = pd.DataFrame(
            {
                "site_id": sites_cat if categorical else np.asarray(sites_cat.astype(object)),
                "cutoff": cutoff,
                "date": cutoff + (horizon_of * _DAY_NS).view("timedelta64[ns]"),
                "horizon": horizon_of,
                "level": level,
            }
        )
        return y, meta, X

    def _fill(
        self,
        seg: _Segment,
        c: np.ndarray,
        h: np.ndarray,
        out: np.ndarray,
        site_code: float,
        sites: list[str] | None,
    ) -> np.ndarray:
        """Write one segment's rows into ``out``; return their levels."""
        n_lags = len(self.lags.columns)
        series = self.lags.prepare(seg.y)
        days = pd.date_range(seg.g[schema.DATE].iloc[0], periods=int((c + h).max()) + 1)
        day_cols = [
            self.calendar.transform(days).to_numpy(dtype=out.dtype),
            self.holidays.transform(days).to_numpy(dtype=out.dtype),
        ]
        day_cols += [
            seg.exog[col].reindex(days).to_numpy(dtype=out.dtype)[:, None] for col in self.exogenous
        ]
        by_day = np.hstack(day_cols)
        level = np.empty(len(c))
        for a in range(0, len(c), self.chunk_rows):
            b = min(a + self.chunk_rows, len(c))
            block = out[a:b]
            block[:, 0] = h[a:b]
            level[a:b] = self.lags.fill(series, c[a:b], h[a:b], block[:, 1 : 1 + n_lags])
            block[:, 1 + n_lags : 1 + n_lags + by_day.shape[1]] = by_day[c[a:b] + h[a:b]]
            if sites is not None:
                block[:, -1] = site_code
        return level


def _mask(rows: np.ndarray | None, total: int) -> np.ndarray | None:
    """``rows`` (positions or a boolean mask) as a boolean mask of ``total`` rows."""
    if rows is None:
        return None
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if len(rows) != total:
            raise ValueError(f"row mask has {len(rows)} entries for {total} rows")
        return rows
    keep = np.zeros(total, dtype=bool)
    keep[rows] = True
    return keep


def _sites(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    ordered = frame.sort_values([schema.SITE, schema.DATE])
    return [(str(s), g) for s, g in ordered.groupby(schema.SITE, sort=True, observed=True)]


def _runs(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Each site's segments (runs of consecutive days), in site then date order."""
    out = []
    for site, g in _sites(frame):
        ids = segment_ids(_unique_dates(g))
        if len(ids) == 0 or ids[-1] == 0:
            out.append((site, g))
            continue
        out += [(site, run) for _, run in g.groupby(ids, sort=True)]
    return out


def _latest_run(g: pd.DataFrame) -> pd.DataFrame:
    """The rows of the latest segment of one site's sorted rows."""
    ids = segment_ids(_unique_dates(g))
    if len(ids) == 0 or ids[-1] == 0:
        return g
    return g.iloc[int(np.argmax(ids == ids[-1])) :]


def _unique_dates(g: pd.DataFrame) -> pd.DatetimeIndex:
    d = pd.DatetimeIndex(g[schema.DATE])
    if not d.is_unique:
        raise DataError(
            f"site '{g[schema.SITE].iloc[0]}' has duplicate dates",
            column=schema.DATE,
            fix="load the data with load_demand first (one row per site and day)",
        )
    return d


def _dates(g: pd.DataFrame) -> pd.DatetimeIndex:
    """The days of one segment's rows (consecutive by construction)."""
    return pd.DatetimeIndex(g[schema.DATE])


def _exog(g: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, pd.Series]:
    out = {}
    for col in columns:
        if col not in g.columns:
            raise DataError(f"exogenous column '{col}' is not in the data", column=col)
        out[col] = pd.Series(g[col].to_numpy(dtype=float), index=pd.DatetimeIndex(g[schema.DATE]))
    return out


def _with_future(
    exog: dict[str, pd.Series],
    site: str,
    g: pd.DataFrame,
    future: pd.DataFrame | None,
    columns: tuple[str, ...],
    horizon: int,
) -> dict[str, pd.Series]:
    last = pd.Timestamp(g[schema.DATE].iloc[-1])
    need = pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")
    rows = None if future is None else future[future[schema.SITE].astype(str) == site]
    out = {}
    for col in columns:
        if rows is None or col not in rows.columns:
            raise DataError(
                f"the model uses '{col}' but no future values were given for site '{site}'",
                column=col,
                fix=f"pass future={col} values for the next {horizon} days",
            )
        fut = pd.Series(rows[col].to_numpy(dtype=float), index=pd.DatetimeIndex(rows[schema.DATE]))
        missing = need.difference(pd.DatetimeIndex(fut.dropna().index))
        if len(missing):
            raise DataError(
                f"future '{col}' for site '{site}' lacks {missing[0]:%Y-%m-%d}",
                column=col,
                fix=f"give '{col}' for every day of the horizon",
            )
        out[col] = pd.concat([exog[col], fut.reindex(need)])
    return out
