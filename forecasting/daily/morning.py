"""The morning job as a library call: champion model + latest data -> forecast -> warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from forecasting.data import schema

if TYPE_CHECKING:
    from forecasting.config import Config
    from forecasting.executors import Executor
    from forecasting.models.base import Forecaster
    from forecasting.nowcast import NowcastOptions

MAX_LISTED_SITES = 10


@dataclass(frozen=True)
class DailyResult:
    """What one daily run produced.

    Attributes:
        as_of: Last day of data the warnings used (with a nowcast: today, day D).
        forecast: The model's forecast frame from that day.
        warnings: One row per site and target day (:data:`escalation.WARNING_COLUMNS`; with a
            nowcast also :data:`TODAY_COLUMNS`, and today's rows at horizon 0).
        as_of_time: The issue time of today's nowcast, if there was one.
    """

    as_of: pd.Timestamp
    forecast: pd.DataFrame
    warnings: pd.DataFrame
    as_of_time: pd.Timestamp | None = None


def check_model_sites(model: Forecaster, frame: pd.DataFrame) -> None:
    """Every site in the data must be one the model was trained on.

    Raises:
        ForecastMismatchError: Naming the first unknown site and the fix.
    """
    from forecasting.escalation.errors import ForecastMismatchError

    trained = set(model.history_[schema.SITE].astype(str))
    unknown = sorted(set(frame[schema.SITE].astype(str)) - trained)
    if unknown:
        listed = ", ".join(unknown[:MAX_LISTED_SITES])
        raise ForecastMismatchError(
            f"site(s) {listed} are not in the model's training data",
            column=schema.SITE,
            fix="retrain with `forecasting train --data FILE` on data that include them",
        )


def check_model_target(model: Forecaster, frame: pd.DataFrame) -> None:
    """The model must forecast what the data's target counts (attendances or beds occupied).

    Raises:
        ForecastMismatchError: Naming both and the fix.
    """
    from forecasting.escalation.errors import ForecastMismatchError

    trained = getattr(model, "target_role_", "attendances")
    wanted = frame.attrs.get("target_role", "attendances")
    if trained != wanted:
        raise ForecastMismatchError(
            f"the champion model forecasts {trained} but the data's target is {wanted}",
            column=schema.TARGET,
            fix=f"train a model on this target first (`forecasting train` with the same "
            f"--target-col), or point --target-col at the {trained} column",
        )


def warn_stale_sites(frame: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """Warn (:class:`StaleDataWarning`) about sites whose data end before ``as_of``."""
    import warnings

    from forecasting.errors import StaleDataWarning

    last = frame[frame[schema.DATE] <= as_of].groupby(schema.SITE)[schema.DATE].max()
    stale = last[last < as_of].sort_index()
    if len(stale):
        listed = ", ".join(f"{s} ({d:%Y-%m-%d})" for s, d in stale.head(MAX_LISTED_SITES).items())
        more = f" and {len(stale) - MAX_LISTED_SITES} more" if len(stale) > MAX_LISTED_SITES else ""
        warnings.warn(
            f"{len(stale)} site(s) have no data up to the as-of date {as_of:%Y-%m-%d}: last days "
            f"{listed}{more}. Their forecasts start from their own last day; update their data.",
            StaleDataWarning,
            stacklevel=2,
        )


def _forecast_warnings(
    data: pd.DataFrame,
    model: Forecaster,
    cfg: Config,
    day: pd.Timestamp,
    issued: pd.DataFrame | None,
    actuals: pd.DataFrame,
    executor: Executor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll ``model`` forward to ``day``, forecast and assess: (forecast, warnings).

    With an ``executor`` of several workers, sites are rolled forward and forecast in
    groups on it (:func:`forecasting.models.partition.update_predict`): the same forecast.
    """
    from forecasting.daily.beds import beds_warnings, is_beds_target
    from forecasting.escalation import assess
    from forecasting.escalation.recalibrate import learn_recalibration
    from forecasting.models.partition import update_predict

    check_model_target(model, data)
    if is_beds_target(data):
        forecast = update_predict(model, data[data[schema.DATE] <= day], cfg.horizon, executor)
        warnings = beds_warnings(
            forecast,
            data,
            cfg.pressure,
            cfg.site,
            cfg.electives.deferrable_share,
            day,
            cfg.horizon,
        )
        return forecast, warnings
    past = data.loc[data[schema.DATE] <= day, list(schema.REQUIRED_COLUMNS)]
    forecast = update_predict(model, past, cfg.horizon, executor)
    min_surges = cfg.escalation.recalibrate_min_surges
    recalibration = learn_recalibration(issued, actuals, day, min_surges)
    warnings = assess(forecast, data, cfg, as_of=day, recalibration=recalibration)
    return forecast, warnings


def daily_warnings(
    frame: pd.DataFrame,
    model: Forecaster,
    cfg: Config,
    as_of: date | str | pd.Timestamp | None = None,
    issued: pd.DataFrame | None = None,
    hourly: pd.DataFrame | None = None,
    nowcast: NowcastOptions | None = None,
    executor: Executor | None = None,
) -> DailyResult:
    """Forecast the next ``cfg.horizon`` days from ``as_of`` and turn them into warnings.

    The fitted ``model`` keeps its parameters; it is only rolled forward (``update``) to the
    data up to ``as_of``, so nothing after that day reaches the forecast.

    With ``hourly`` arrivals, ``as_of`` is a time on day D (default: the end of the last hour
    in ``hourly``): see :func:`nowcast_warnings`.

    Args:
        frame: DemandFrame (rows after ``as_of`` are used only for planned electives).
        model: A fitted forecaster (e.g. the champion).
        cfg: Configuration (horizon, sites, thresholds, escalation rules).
        as_of: Last day of data to use; ``None`` is the last day in ``frame``. A time of day
            only with ``hourly``.
        issued: Earlier warnings (``WarningHistory.read()``): once enough of their days were
            observed, the surge probabilities are recalibrated on those outcomes
            (``cfg.escalation.recalibrate_min_surges``; today's nowcast rows are not used).
        hourly: Hourly arrivals (:func:`forecasting.nowcast.load_hourly`) to refresh today.
        nowcast: How today is nowcast (default :class:`~forecasting.nowcast.NowcastOptions`
            with the config's holidays).
        executor: Spreads the sites' roll-forward and forecast over workers (serial if
            ``None``); the warnings are the same.

    Warns:
        StaleDataWarning: If some site's data end before ``as_of`` (without ``hourly``).

    Raises:
        NowcastInputError: A time of day without ``hourly``, a plain date with it, or data
            that do not fit together (see :func:`nowcast_warnings`).
        EmptyDataError, AsOfError, ForecastMismatchError, UnknownSiteError, MissingBedsError:
            From the checks of :func:`forecasting.escalation.assess`.
    """
    from forecasting.daily.today import check_as_of, nowcast_warnings
    from forecasting.escalation.assess import prepare_history, resolve_as_of

    check_as_of(as_of, hourly is not None)
    if hourly is not None:
        return nowcast_warnings(frame, model, cfg, hourly, as_of, issued, nowcast, executor)
    data = prepare_history(frame)
    day = resolve_as_of(data, as_of)
    check_model_sites(model, data)
    warn_stale_sites(data, day)
    past = data[data[schema.DATE] <= day]
    forecast, warnings = _forecast_warnings(data, model, cfg, day, issued, past, executor)
    return DailyResult(as_of=day, forecast=forecast, warnings=warnings)
