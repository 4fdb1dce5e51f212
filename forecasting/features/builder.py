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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.data import schema
from forecasting.data.segments import segment_ids
from forecasting.errors import DataError
from forecasting.features.calendar import CalendarFeatures, HolidayFeatures
from forecasting.features.lags import LagFeatures

META_COLUMNS = ("site_id", "cutoff", "date", "horizon", "level")


@dataclass(frozen=True)
class DirectFeatures:
    """Builds training and prediction rows for a direct multi-horizon model.

    Attributes:
        calendar: Target-day calendar features.
        holidays: Target-day holiday features.
        lags: Cutoff-relative lag features.
        exogenous: Columns whose target-day values are known in advance (e.g. forecast
            temperature); prediction then needs them in ``future``.
        min_history: Fewest days before a cutoff for it to become a training row.
    """

    calendar: CalendarFeatures = field(default_factory=CalendarFeatures)
    holidays: HolidayFeatures = field(default_factory=HolidayFeatures)
    lags: LagFeatures = field(default_factory=LagFeatures)
    exogenous: tuple[str, ...] = ()
    min_history: int = 28

    @property
    def name(self) -> str:
        """Self-describing name of the whole feature set."""
        parts = [self.calendar.name, self.holidays.name, self.lags.name]
        parts += [f"exog_{c}" for c in self.exogenous]
        return "+".join(parts)

    def _rows(
        self,
        site: str,
        dates: pd.DatetimeIndex,
        y: np.ndarray,
        cutoffs: np.ndarray,
        horizons: np.ndarray,
        exog: dict[str, pd.Series],
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        lagged = self.lags.transform(y, cutoffs, horizons)
        start = dates[0]
        target = start + pd.to_timedelta(cutoffs + horizons, unit="D")
        cal = self.calendar.transform(target).reset_index(drop=True)
        hol = self.holidays.transform(target).reset_index(drop=True)
        X = pd.concat([lagged.drop(columns="level"), cal, hol], axis=1)
        X.insert(0, "horizon", horizons)
        for col in self.exogenous:
            X[col] = exog[col].reindex(target).to_numpy(dtype=float)
        meta = pd.DataFrame(
            {
                "site_id": site,
                "cutoff": start + pd.to_timedelta(cutoffs, unit="D"),
                "date": target,
                "horizon": horizons,
                "level": lagged["level"].to_numpy(),
            }
        )
        return X, meta

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
            Features, observed targets (raw counts) and meta columns (``META_COLUMNS``).
        """
        Xs, ys, metas = [], [], []
        for site, g in _runs(frame):
            y = g[schema.TARGET].to_numpy(dtype=float)
            n = len(y)
            cut = np.arange(self.min_history - 1, n - 1, stride)
            if len(cut) == 0:
                continue
            c = np.repeat(cut, horizon)
            h = np.tile(np.arange(1, horizon + 1), len(cut))
            keep = c + h < n
            c, h = c[keep], h[keep]
            X, meta = self._rows(site, _dates(g), y, c, h, _exog(g, self.exogenous))
            Xs.append(X)
            ys.append(y[c + h])
            metas.append(meta)
        if not Xs:
            raise DataError(
                f"no site has more than {self.min_history} consecutive days of history to "
                "learn from",
                fix="supply more history",
            )
        return (
            pd.concat(Xs, ignore_index=True),
            np.concatenate(ys),
            pd.concat(metas, ignore_index=True),
        )

    def prediction_rows(
        self, frame: pd.DataFrame, horizon: int, future: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Rows for horizons 1..horizon after each site's last day, from its latest segment.

        Raises:
            DataError: If an exogenous column's future values are missing.
        """
        Xs, metas = [], []
        for site, g in _sites(frame):
            g = _latest_run(g)
            y = g[schema.TARGET].to_numpy(dtype=float)
            c = np.full(horizon, len(y) - 1)
            h = np.arange(1, horizon + 1)
            exog = _exog(g, self.exogenous)
            if self.exogenous:
                exog = _with_future(exog, site, g, future, self.exogenous, horizon)
            X, meta = self._rows(site, _dates(g), y, c, h, exog)
            Xs.append(X)
            metas.append(meta)
        return pd.concat(Xs, ignore_index=True), pd.concat(metas, ignore_index=True)


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
