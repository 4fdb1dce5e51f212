"""Today's nowcast per site: expected total, interval, P(surge), and tomorrow updated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.errors import DataValueError, InsufficientHistoryError
from forecasting.nowcast.combine import COMBINERS, Nowcaster, TomorrowUpdate
from forecasting.nowcast.days import DATE, day_matrix, totals
from forecasting.nowcast.hourly import SITE, TIME
from forecasting.nowcast.prior import day_ahead_priors
from forecasting.nowcast.rows import issue_rows, log_errors
from forecasting.nowcast.shape import usual_shares
from forecasting.nowcast.surge import flat_line, weekday_line

NOWCAST_COLUMNS = (
    SITE,
    "as_of",
    DATE,
    "hour",
    "arrivals_so_far",
    "usual_share",
    "projection",
    "prior",
    "mean",
    "q0.05",
    "q0.5",
    "q0.95",
    "surge_line",
    "p_surge",
    "weekday_line",
    "p_surge_weekday",
    "prior_p_surge",
    "tomorrow_prior",
    "tomorrow_mean",
    "tomorrow_q0.05",
    "tomorrow_q0.95",
    "method",
)
_LEVELS = np.array([0.05, 0.5, 0.95])
_Z90 = 1.6448536269514722


@dataclass(frozen=True)
class NowcastOptions:
    """How the nowcast is made.

    Attributes:
        prior: Day-ahead prior: a registry model name (``"ets"``) or ``"weekday"``.
        method: Combiner: ``"shrinkage"`` or ``"bayes"``
            (:data:`forecasting.nowcast.combine.COMBINERS`).
        calibration_days: Past days the combiner's parameters are learned from.
        refit_every: Days between re-estimations of the prior model.
        window_weeks: Same weekdays the usual day shape is learned from.
        surge_quantile: Quantile of the last 365 daily totals that makes the surge line.
        country: Public-holiday country of the prior model.
        subdiv: Its subdivision.
    """

    prior: str = "ets"
    method: str = "shrinkage"
    calibration_days: int = 91
    refit_every: int = 28
    window_weeks: int = 52
    surge_quantile: float = 0.9
    country: str = "GB"
    subdiv: str | None = "ENG"


def _check_known(hourly: pd.DataFrame, day: pd.Timestamp, hour: int) -> None:
    """Every site has every hour of ``day`` before ``hour``."""
    need = pd.date_range(day, periods=hour, freq="h")
    for site, g in hourly.groupby(SITE, sort=True):
        known = pd.DatetimeIndex(g[TIME])
        missing = need.difference(known)
        if len(missing):
            last = known.max()
            raise DataValueError(
                f"site '{site}' has no arrivals for {missing[0]:%Y-%m-%d %H:%M} "
                f"(its data end at {last:%Y-%m-%d %H:%M})",
                column=TIME,
                fix="give the hours up to --as-of, or use an earlier --as-of",
            )


def _prior_p(line: np.ndarray, mean: np.ndarray, sdlog: np.ndarray) -> np.ndarray:
    """P(total > line) under the prior alone (log-normal around its mean)."""
    from scipy.stats import norm

    loc = np.log(mean) - sdlog**2 / 2
    return np.asarray(norm.sf((np.log(line) - loc) / sdlog), dtype=float)


@dataclass(frozen=True)
class TodayState:
    """Today's rows and the combiner fitted on earlier days: the nowcast's distribution.

    Attributes:
        stamp: Issue time.
        day: The as-of day (midnight).
        hour: Hour of issue: arrivals in hours ``[0, hour)`` are known.
        combiner: The fitted combiner (:data:`forecasting.nowcast.combine.COMBINERS`).
        now: One row per site for the as-of day (``site_id``, ``observed``, ``share``,
            ``prior``, ...).
        past: The same rows for earlier days (with their ``total``).
        before: Daily totals before the as-of day, indexed by (``site_id``, ``date``).
    """

    stamp: pd.Timestamp
    day: pd.Timestamp
    hour: int
    combiner: Nowcaster
    now: pd.DataFrame
    past: pd.DataFrame
    before: pd.Series

    @property
    def sites(self) -> list[str]:
        """Site ids of ``now``'s rows, in order."""
        return [str(s) for s in self.now[SITE]]

    def mean(self) -> np.ndarray:
        """Each site's expected total for the day."""
        return self.combiner.mean(self.now)

    def quantiles(self, levels: npt.ArrayLike) -> np.ndarray:
        """Quantiles of each site's total (sites x levels)."""
        return self.combiner.quantiles(self.now, np.asarray(levels, dtype=float))

    def p_above(self, lines: npt.ArrayLike) -> np.ndarray:
        """P(total > line) per site (``lines``: one per site, in order)."""
        return self.combiner.p_above(self.now, np.asarray(lines, dtype=float))


def today_state(
    hourly: pd.DataFrame, as_of: pd.Timestamp | str, options: NowcastOptions | None = None
) -> TodayState:
    """Fit the nowcast for the as-of day from the arrivals before the as-of time.

    Only hours that ended by ``as_of`` are used (as-of 10:00 or 10:30: hours 00:00-09:59);
    the usual shape, the prior and the combiner's parameters come from earlier days.

    Args:
        hourly: The hourly frame (:func:`forecasting.nowcast.hourly.load_hourly`).
        as_of: Issue time.
        options: How to nowcast (default :class:`NowcastOptions`).

    Raises:
        DataValueError: A site lacks an hour before the as-of time.
        InsufficientHistoryError: Too little history before the as-of day.
    """
    opts = options or NowcastOptions()
    stamp = pd.Timestamp(as_of)
    day, hour = stamp.normalize(), int(stamp.hour)
    _check_known(hourly, day, hour)
    known = hourly[hourly[TIME] < day + pd.Timedelta(hours=hour)]
    matrix = day_matrix(known, through=day)
    tot = totals(matrix)
    before = tot[tot.index.get_level_values(DATE) < day]
    start = day - pd.Timedelta(days=opts.calibration_days)
    first_days = matrix.index.to_frame(index=False).groupby(SITE)[DATE].min()
    if (start - first_days.max()).days < 7 * 8:
        raise InsufficientHistoryError(
            f"nowcasting {day:%Y-%m-%d} needs {opts.calibration_days} days plus eight weeks "
            f"of hourly history; a site starts on {first_days.max():%Y-%m-%d}",
            fix="give more hourly history",
        )
    shares = usual_shares(matrix, window_weeks=opts.window_weeks)
    priors = day_ahead_priors(
        tot, start, day, opts.prior, opts.refit_every, opts.country, opts.subdiv
    )
    rows = issue_rows(matrix, shares, priors, hour)
    past = rows[rows[DATE] < day]
    now = rows[rows[DATE] == day].reset_index(drop=True)
    if now["share"].isna().any() or (hour > 0 and (now["share"] <= 0).any()):
        site = now.loc[now["share"].isna(), SITE].iloc[0] if now["share"].isna().any() else ""
        raise InsufficientHistoryError(
            f"site '{site}' has too few complete {day:%A}s to learn the day's shape",
            fix="give at least four weeks of complete hourly days",
        )
    combiner = COMBINERS[opts.method]().fit(past)
    return TodayState(stamp, day, hour, combiner, now, past, before)


def nowcast_today(
    hourly: pd.DataFrame,
    as_of: pd.Timestamp | str,
    options: NowcastOptions | None = None,
    surge_line: float | None = None,
) -> pd.DataFrame:
    """Nowcast each site's total for the as-of day from the arrivals before the as-of time.

    Only hours that ended by ``as_of`` are used (as-of 10:00 or 10:30: hours 00:00-09:59);
    the usual shape, the prior and the combiner's parameters come from earlier days.

    Args:
        hourly: The hourly frame (:func:`forecasting.nowcast.hourly.load_hourly`).
        as_of: Issue time.
        options: How to nowcast (default :class:`NowcastOptions`).
        surge_line: A fixed surge line for every site, instead of the flat 90th percentile of
            the last 365 daily totals.

    Returns:
        One row per site, columns :data:`NOWCAST_COLUMNS`.

    Raises:
        DataValueError: A site lacks an hour before the as-of time.
        InsufficientHistoryError: Too little history before the as-of day.
    """
    opts = options or NowcastOptions()
    state = today_state(hourly, as_of, opts)
    now, before, day, combiner = state.now, state.before, state.day, state.combiner
    mean = state.mean()
    quant = state.quantiles(_LEVELS)
    flat = np.array(
        [
            surge_line
            if surge_line is not None
            else flat_line(before.xs(s, level=SITE), opts.surge_quantile)
            for s in now[SITE]
        ]
    )
    wk = np.array(
        [weekday_line(before.xs(s, level=SITE), day, opts.surge_quantile) for s in now[SITE]]
    )
    today_err, tomorrow_err = log_errors(state.past)
    update = TomorrowUpdate().fit(today_err, tomorrow_err)
    surprise = np.log(mean / now["prior"].to_numpy(float))
    tomorrow = update.predict(now["next_prior"].to_numpy(float), surprise)
    spread = now["next_sdlog"].to_numpy(float)
    observed = now["observed"].to_numpy(float)
    share = now["share"].to_numpy(float)
    out = pd.DataFrame(
        {
            SITE: now[SITE],
            "as_of": state.stamp,
            DATE: day,
            "hour": state.hour,
            "arrivals_so_far": observed,
            "usual_share": share,
            "projection": np.where(share > 0, observed / np.where(share > 0, share, 1), np.nan),
            "prior": now["prior"],
            "mean": mean,
            "q0.05": quant[:, 0],
            "q0.5": quant[:, 1],
            "q0.95": quant[:, 2],
            "surge_line": flat,
            "p_surge": combiner.p_above(now, flat),
            "weekday_line": wk,
            "p_surge_weekday": combiner.p_above(now, wk),
            "prior_p_surge": _prior_p(
                flat, now["prior"].to_numpy(float), now["prior_sdlog"].to_numpy(float)
            ),
            "tomorrow_prior": now["next_prior"],
            "tomorrow_mean": tomorrow,
            "tomorrow_q0.05": tomorrow * np.exp(-_Z90 * spread),
            "tomorrow_q0.95": tomorrow * np.exp(_Z90 * spread),
            "method": opts.method + "+" + now["prior_source"].astype(str),
        }
    )
    return out[list(NOWCAST_COLUMNS)]
