"""The morning job as a library call: champion model + latest data -> forecast -> warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from forecasting.data import schema

if TYPE_CHECKING:
    from forecasting.config import Config
    from forecasting.models.base import Forecaster

MAX_LISTED_SITES = 10


@dataclass(frozen=True)
class DailyResult:
    """What one daily run produced.

    Attributes:
        as_of: Last day of data the warnings used.
        forecast: The model's forecast frame from that day.
        warnings: One row per site and target day (:data:`escalation.WARNING_COLUMNS`).
    """

    as_of: pd.Timestamp
    forecast: pd.DataFrame
    warnings: pd.DataFrame


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


def daily_warnings(
    frame: pd.DataFrame,
    model: Forecaster,
    cfg: Config,
    as_of: date | str | pd.Timestamp | None = None,
    issued: pd.DataFrame | None = None,
) -> DailyResult:
    """Forecast the next ``cfg.horizon`` days from ``as_of`` and turn them into warnings.

    The fitted ``model`` keeps its parameters; it is only rolled forward (``update``) to the
    data up to ``as_of``, so nothing after that day reaches the forecast.

    Args:
        frame: DemandFrame (rows after ``as_of`` are used only for planned electives).
        model: A fitted forecaster (e.g. the champion).
        cfg: Configuration (horizon, sites, thresholds, escalation rules).
        as_of: Last day of data to use; ``None`` is the last day in ``frame``.
        issued: Earlier warnings (``WarningHistory.read()``): once enough of their days were
            observed, the surge probabilities are recalibrated on those outcomes
            (``cfg.escalation.recalibrate_min_surges``).

    Warns:
        StaleDataWarning: If some site's data end before ``as_of``.

    Raises:
        EmptyDataError, AsOfError, ForecastMismatchError, UnknownSiteError, MissingBedsError:
            From the checks of :func:`forecasting.escalation.assess`.
    """
    from forecasting.escalation import assess
    from forecasting.escalation.assess import prepare_history, resolve_as_of

    data = prepare_history(frame)
    day = resolve_as_of(data, as_of)
    check_model_sites(model, data)
    warn_stale_sites(data, day)
    past = data.loc[data[schema.DATE] <= day, list(schema.REQUIRED_COLUMNS)]
    forecast = model.update(past).predict(cfg.horizon)
    recalibration = None
    min_surges = cfg.escalation.recalibrate_min_surges
    if issued is not None and len(issued) and min_surges > 0:
        from forecasting.escalation.recalibrate import learn_recalibration

        recalibration = learn_recalibration(issued, past, day, min_surges)
    warnings = assess(forecast, data, cfg, as_of=day, recalibration=recalibration)
    return DailyResult(as_of=day, forecast=forecast, warnings=warnings)
