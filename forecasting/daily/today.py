"""Today refreshed from hourly arrivals: a warning for today (horizon 0) from the nowcast.

With hourly arrivals (:func:`forecasting.daily.daily_warnings` ``hourly=``), the run is issued
at an as-of *time* on day D: the daily data count up to D-1, today's total is nowcast from the
arrivals before the as-of time (:mod:`forecasting.nowcast`), appended as day D (flagged
``nowcast``, in memory only), the model is rolled forward through D, and today gets a warning of
its own (horizon 0) whose level follows the nowcast's P(surge) with the same rules as the other
days.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecasting.daily.morning import (
    MAX_LISTED_SITES,
    DailyResult,
    _forecast_warnings,
    check_model_sites,
)
from forecasting.data import schema
from forecasting.errors import DataValueError

if TYPE_CHECKING:
    from forecasting.config import Config
    from forecasting.executors import Executor
    from forecasting.models.base import Forecaster
    from forecasting.nowcast import NowcastOptions, TodayState

NOWCAST = "nowcast"
#: Columns the warnings gain when today is nowcast (``None``/NaN on the forecast days).
TODAY_COLUMNS: tuple[str, ...] = (NOWCAST, "arrivals_so_far", "usual_share_by_now")
ONE_DAY = pd.Timedelta(days=1)
ONE_HOUR = pd.Timedelta(hours=1)


class NowcastInputError(DataValueError):
    """Daily data, hourly arrivals and as-of time that cannot refresh today's level together."""


def _listed(sites: list[str]) -> str:
    more = len(sites) - MAX_LISTED_SITES
    return ", ".join(sites[:MAX_LISTED_SITES]) + (f" and {more} more" if more > 0 else "")


def _is_plain_date(as_of: object) -> bool:
    """Whether ``as_of`` names a day without a time of day."""
    if isinstance(as_of, str):
        try:
            date.fromisoformat(as_of.strip())
        except ValueError:
            return False
        return True
    return isinstance(as_of, date) and not isinstance(as_of, datetime)


def check_as_of(as_of: date | str | pd.Timestamp | None, hourly: bool) -> None:
    """A time of day needs hourly arrivals, and hourly arrivals need a time of day.

    A string with a time (even ``00:00``) counts as a time; a timestamp only if not midnight.

    Raises:
        NowcastInputError: A time without hourly arrivals, or a plain date with them.
    """
    if as_of is None:
        return
    plain = _is_plain_date(as_of)
    if hourly and plain:
        raise NowcastInputError(
            f"as-of {as_of} has no time of day, and hourly arrivals refresh today at a time",
            fix='give the as-of as "YYYY-MM-DD HH:MM" (the arrivals before it count)',
        )
    timed = isinstance(as_of, str) or pd.Timestamp(as_of) != pd.Timestamp(as_of).normalize()
    if not hourly and not plain and timed:
        raise NowcastInputError(
            f"as-of {as_of} has a time of day, which only the hourly arrivals can use",
            fix="give the hourly arrivals (--hourly FILE), or a plain date YYYY-MM-DD",
        )


def issue_time(hourly: pd.DataFrame, as_of: date | str | pd.Timestamp | None) -> pd.Timestamp:
    """The as-of time; ``None``: the end of the last hour every site has in ``hourly``."""
    from forecasting.nowcast.hourly import SITE, TIME

    if as_of is not None:
        return pd.Timestamp(as_of)
    return pd.Timestamp(hourly.groupby(SITE)[TIME].max().min()) + ONE_HOUR


def check_hourly_sites(model: Forecaster, data: pd.DataFrame, hourly: pd.DataFrame) -> None:
    """The hourly file's sites are the daily data's, and the model knows them all.

    Raises:
        NowcastInputError: Naming the sites at fault and the fix.
    """
    from forecasting.nowcast.hourly import SITE

    trained = set(model.history_[schema.SITE].astype(str))
    in_hourly = set(hourly[SITE].astype(str))
    in_daily = set(data[schema.SITE].astype(str))
    problems = (
        (
            in_hourly - trained,
            "in the hourly file are not in the model's training data",
            "retrain with `forecasting train` on data that include them, or drop them from the "
            "hourly file",
        ),
        (
            in_daily - in_hourly,
            "have daily data but no hourly arrivals",
            "give their hourly arrivals, or run without --hourly",
        ),
        (
            in_hourly - in_daily,
            "have hourly arrivals but no daily data",
            "add their daily data, or drop them from the hourly file",
        ),
    )
    for sites, what, fix in problems:
        if sites:
            raise NowcastInputError(f"site(s) {_listed(sorted(sites))} {what}", fix=fix)


def check_coverage(data: pd.DataFrame, hourly: pd.DataFrame, stamp: pd.Timestamp) -> None:
    """Daily data reach the day before the as-of day; hourly arrivals the hour before the time.

    Raises:
        NowcastInputError: Naming the first site that falls short and its last day or hour.
    """
    from forecasting.nowcast.hourly import SITE, TIME

    day = stamp.normalize()
    last_day = data[data[schema.DATE] < day].groupby(schema.SITE)[schema.DATE].max()
    for site in sorted(data[schema.SITE].unique()):
        last = last_day.get(site)
        if last is None or last < day - ONE_DAY:
            ends = "has none" if last is None else f"end on {last:%Y-%m-%d}"
            raise NowcastInputError(
                f"refreshing {day:%Y-%m-%d} needs the daily data of site '{site}' up to "
                f"{day - ONE_DAY:%Y-%m-%d}; they {ends}",
                column=schema.DATE,
                fix="update the daily data, or give the hourly file as --data with "
                "--resample daily",
            )
    need = stamp.floor("h") - ONE_HOUR
    for site, last_hour in hourly.groupby(SITE)[TIME].max().sort_index().items():
        if last_hour < need:
            raise NowcastInputError(
                f"the hourly arrivals of site '{site}' end at {last_hour:%Y-%m-%d %H:%M}, "
                f"before the as-of time {stamp:%Y-%m-%d %H:%M}",
                column=TIME,
                fix="give the hours up to the as-of time, or use an earlier as-of",
            )


def with_today(data: pd.DataFrame, state: TodayState) -> pd.DataFrame:
    """``data`` with day D's attendances replaced by the nowcast mean (flagged ``nowcast``).

    Of the data's own row for D only ``electives_planned`` (a plan, known in advance) is kept.
    """
    day = state.day
    today = pd.DataFrame(
        {schema.SITE: state.sites, schema.DATE: day, schema.TARGET: state.mean(), NOWCAST: True}
    )
    planned = data[data[schema.DATE] == day]
    if "electives_planned" in data and len(planned):
        today = today.merge(planned[[schema.SITE, "electives_planned"]], how="left")
    rest = data[data[schema.DATE] != day].assign(**{NOWCAST: False})
    out = pd.concat([rest, today], ignore_index=True)
    return out.sort_values([schema.SITE, schema.DATE], ignore_index=True)


def _today_forecast(state: TodayState, method: str) -> pd.DataFrame:
    """Today's nowcast as forecast-frame rows (cutoff the day before, horizon 1)."""
    from forecasting.forecast_frame import QUANTILE_COLUMNS, QUANTILES

    out = pd.DataFrame(
        {
            schema.SITE: state.sites,
            "cutoff": state.day - ONE_DAY,
            schema.DATE: state.day,
            "horizon": 1,
            "model": [f"nowcast:{method}+{s}" for s in state.now["prior_source"].astype(str)],
            "mean": state.mean(),
        }
    )
    out[list(QUANTILE_COLUMNS)] = state.quantiles(QUANTILES)
    return out


def _today_risk(
    state: TodayState, observed: pd.DataFrame, cfg: Config, method: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Today's rows with both kinds of surge line and the nowcast's chance of crossing each.

    The lines are the warnings' own (:func:`~forecasting.escalation.thresholds.surge_lines`)
    from the daily data up to the day before; the chances come from the nowcast's
    distribution, not from its quantiles. Returns (rows, lines of the levels' kind).
    """
    from forecasting.escalation.assess import recalibrated
    from forecasting.escalation.thresholds import add_surge_kinds, kind_of

    prev = state.day - ONE_DAY
    frame, lines = add_surge_kinds(_today_forecast(state, method), observed, cfg, prev)
    for line, p in (
        ("surge_threshold", "p_surge"),
        ("surge_threshold_high", "p_surge_high"),
        ("capacity_line", "p_capacity"),
        ("weekday_line", "p_weekday"),
    ):
        frame[p] = state.p_above(frame[line].to_numpy(float))
    return recalibrated(frame, None, kind_of(cfg), prev), lines


def _today_reasons(
    frame: pd.DataFrame,
    state: TodayState,
    observed: pd.DataFrame,
    lines: pd.DataFrame,
    cfg: Config,
) -> list[list[str]]:
    """The usual reasons of each row, after a sentence on the arrivals so far."""
    from forecasting.escalation.assess import by_site
    from forecasting.escalation.reasons import explain, site_context
    from forecasting.escalation.thresholds import line_of

    prev = state.day - ONE_DAY
    contexts = {}
    for site, own in by_site(observed).items():
        own_lines = line_of(lines, site, pd.DatetimeIndex(own[schema.DATE]))
        contexts[site] = site_context(own, own_lines, cfg, prev)
    heads = [
        f"Nowcast at {state.stamp:%H:%M}: {n:.0f} arrivals so far, usually {s:.0%} of the day "
        f"by now; expected {m:.0f} today"
        for n, s, m in zip(state.now["observed"], state.now["share"], state.mean(), strict=True)
    ]
    return [[h, *r] for h, r in zip(heads, explain(frame, contexts, cfg), strict=True)]


def today_warnings(state: TodayState, data: pd.DataFrame, cfg: Config, method: str) -> pd.DataFrame:
    """Today's warning per site (horizon 0) from the nowcast, with the usual level rules.

    The surge lines, occupancy (today's emergency admissions: the nowcast mean times the
    conversion rate), level, planned-care advice and reasons follow the rules of
    :func:`forecasting.escalation.assess`, from the daily data up to the day before.

    Args:
        state: The nowcast (:func:`forecasting.nowcast.today_state`).
        data: The prepared DemandFrame (rows from day D on are used only for planned electives).
        cfg: The configuration.
        method: The nowcast's combiner, named in the ``model`` column.

    Returns:
        :data:`~forecasting.escalation.WARNING_COLUMNS` and :data:`TODAY_COLUMNS`.
    """
    from forecasting.escalation import WARNING_COLUMNS
    from forecasting.escalation.assess import add_advice, add_occupancy, by_site
    from forecasting.escalation.levels import LEVEL_NAMES, recommend_levels
    from forecasting.forecast_frame import QUANTILE_COLUMNS

    observed = data[data[schema.DATE] < state.day]
    frame, lines = _today_risk(state, observed, cfg, method)
    plan = by_site(data[data[schema.DATE] >= state.day])
    frame = add_occupancy(frame, by_site(observed), plan, cfg)
    frame = frame.assign(as_of=state.day, horizon=0)
    frame["level"] = recommend_levels(
        frame["p_surge"], frame["p_surge_high"], frame["occupancy"], cfg
    )
    frame["level_name"] = frame["level"].map(LEVEL_NAMES)
    frame = add_advice(frame, cfg)
    frame["reasons"] = _today_reasons(frame, state, observed, lines, cfg)
    frame = frame.rename(
        columns={"mean": "attendances_mean", **{q: f"attendances_{q}" for q in QUANTILE_COLUMNS}}
    )
    out = frame[list(WARNING_COLUMNS)].copy()
    out[NOWCAST] = True
    out["arrivals_so_far"] = state.now["observed"].to_numpy(float)
    out["usual_share_by_now"] = state.now["share"].to_numpy(float)
    return out


def nowcast_warnings(
    frame: pd.DataFrame,
    model: Forecaster,
    cfg: Config,
    hourly: pd.DataFrame,
    as_of: date | str | pd.Timestamp | None = None,
    issued: pd.DataFrame | None = None,
    options: NowcastOptions | None = None,
    executor: Executor | None = None,
) -> DailyResult:
    """Warnings issued at an as-of time on day D, today refreshed from the arrivals so far.

    The daily data count up to D-1 (later rows only for planned electives). Today's total is
    nowcast from the hourly arrivals before the as-of time and appended as day D; the model
    is rolled forward through D and days D+1.. are assessed as usual with as-of D. Today gets
    its own row (horizon 0, ``nowcast`` True) from :func:`today_warnings`. No arrival at or
    after the as-of time, and no daily value from D on, reaches the warnings.

    Args:
        frame: DemandFrame (daily; e.g. the hourly file resampled: its partial last day
            dropped).
        model: A fitted forecaster that knows every site.
        cfg: The configuration.
        hourly: Hourly arrivals (:func:`forecasting.nowcast.load_hourly`), same sites.
        as_of: Issue time; ``None``: the end of the last hour every site has in ``hourly``.
        issued: Earlier warnings, for the recalibration of D+1.. (as in
            :func:`daily_warnings`).
        options: How to nowcast (default: :class:`~forecasting.nowcast.NowcastOptions` with
            the config's holidays).
        executor: Spreads the sites' roll-forward over workers (as in :func:`daily_warnings`).

    Raises:
        NowcastInputError: Sites that do not match, or data that stop short of D-1 (daily)
            or of the as-of time (hourly).
        InsufficientHistoryError: Too little hourly history to nowcast.
    """
    from forecasting.escalation.assess import prepare_history
    from forecasting.nowcast import NowcastOptions, today_state

    opts = options or NowcastOptions(country=cfg.holidays.country, subdiv=cfg.holidays.subdiv)
    data = prepare_history(frame)
    stamp = issue_time(hourly, as_of).as_unit(data[schema.DATE].dt.unit)  # rows line up
    check_model_sites(model, data)
    check_hourly_sites(model, data, hourly)
    check_coverage(data, hourly, stamp)
    state = today_state(hourly, stamp, opts)
    today = today_warnings(state, data, cfg, opts.method)
    observed = data[data[schema.DATE] < state.day]
    extended = with_today(data, state)
    forecast, ahead = _forecast_warnings(
        extended, model, cfg, state.day, issued, observed, executor
    )
    ahead = ahead.assign(
        **{NOWCAST: False, "arrivals_so_far": np.nan, "usual_share_by_now": np.nan}
    )
    warnings = pd.concat([today, ahead], ignore_index=True)
    warnings = warnings.sort_values([schema.SITE, schema.DATE], ignore_index=True)
    return DailyResult(as_of=state.day, forecast=forecast, warnings=warnings, as_of_time=stamp)
