"""Configuration: the one module that reads config files.

The embedded defaults are the defaults of :class:`Config`; ``configs/default.yaml`` spells them out
(a test keeps the two equal). Errors name the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forecasting.errors import ConfigError

WEEKDAY_COUNT = 7
# Upper quantiles of the forecast frame (forecasting.forecast_frame.QUANTILES; not imported here
# so that reading a config stays free of pandas).
UPPER_QUANTILES = (0.75, 0.9, 0.95)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsConfig(_Strict):
    """How input columns map to the DemandFrame contract (``site_id: null`` = one site)."""

    site_id: str | None = "site_id"
    date: str = "date"
    attendances: str = "attendances"
    # what the target column counts; null: beds_occupied if its name says "occupied"
    target_role: Literal["attendances", "beds_occupied"] | None = None
    extra: dict[str, str] = Field(default_factory=dict)


#: The default holiday calendar (England), known to be valid without asking ``holidays``.
DEFAULT_HOLIDAYS = ("GB", "ENG")
_LIST_HINT = "list them all with `forecasting data holidays`"


def _holiday_problem(country: str, subdiv: str | None) -> str | None:
    """Say why ``holidays`` rejects a country/subdivision, listing valid codes; None if fine."""
    if (country, subdiv) == DEFAULT_HOLIDAYS:
        return None
    import difflib

    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdiv)
        return None
    except (NotImplementedError, KeyError, ValueError):
        pass
    supported: dict[str, list[str]] = holidays.list_supported_countries(include_aliases=True)
    if country not in supported:
        upper = {code.upper(): code for code in supported}
        close = [upper[country.upper()]] if country.upper() in upper else []
        close += difflib.get_close_matches(country.upper(), list(supported), n=10, cutoff=0.5)
        close.sort(key=lambda code: len(code) != len(country))  # stable: same length first
        shown = ", ".join(list(dict.fromkeys(close))[:5]) or "none"
        return (
            f"unknown holiday country '{country}' (close matches: {shown}). Fix: use a country "
            f"code of the `holidays` package, e.g. GB, CH or US; {_LIST_HINT}"
        )
    subdivisions = supported[country]
    if not subdivisions:
        return (
            f"holiday country '{country}' has no subdivisions, so '{subdiv}' is unknown. "
            f"Fix: give the country alone ('{country}')"
        )
    return (
        f"unknown subdivision '{subdiv}' of holiday country '{country}'; valid: "
        f"{', '.join(subdivisions)}. Fix: use one of these codes (e.g. {country}-"
        f"{subdivisions[0]}), or the country alone"
    )


def check_holiday_calendar(country: str, subdiv: str | None, option: str | None = None) -> None:
    """Check a holiday calendar against the countries and subdivisions ``holidays`` supports.

    Args:
        country: Country code (e.g. ``GB``).
        subdiv: Subdivision code (e.g. ``ENG``), or ``None`` for the whole country.
        option: The command-line option the codes came from, named in the error.

    Raises:
        ConfigError: One line naming the bad code and listing valid ones (all subdivisions of
            the country, or close matches for a country).
    """
    problem = _holiday_problem(country, subdiv)
    if problem is None:
        return
    given = f"{country}-{subdiv}" if subdiv else country
    prefix = f"{option} '{given}': " if option else ""
    raise ConfigError(prefix + problem + ".")


class HolidaysConfig(_Strict):
    """Which public holidays apply (``holidays`` package country and subdivision codes)."""

    country: str = DEFAULT_HOLIDAYS[0]
    subdiv: str | None = DEFAULT_HOLIDAYS[1]

    @model_validator(mode="after")
    def _known_calendar(self) -> HolidaysConfig:
        problem = _holiday_problem(self.country, self.subdiv)
        if problem is not None:
            raise ValueError(problem)
        return self


class SiteSettings(_Strict):
    """Capacity and flow settings of one site; unset values fall back to ``site_defaults``."""

    name: str | None = None
    beds: int | None = Field(default=None, gt=0)
    admission_rate: float | None = Field(default=None, gt=0, le=1)
    mean_los_emergency: float | None = Field(default=None, gt=0, le=60)
    mean_los_elective: float | None = Field(default=None, gt=0, le=60)
    electives_by_weekday: tuple[int, ...] | None = None
    surge_threshold: float | None = Field(default=None, gt=0)

    @field_validator("electives_by_weekday")
    @classmethod
    def _seven_days(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if v is not None and (len(v) != WEEKDAY_COUNT or min(v) < 0):
            raise ValueError("needs 7 non-negative counts, Monday to Sunday")
        return v


class SiteDefaults(SiteSettings):
    """Settings used for any site not configured (or not fully configured) in ``sites``."""

    admission_rate: float | None = Field(default=0.25, gt=0, le=1)
    mean_los_emergency: float | None = Field(default=5.5, gt=0, le=60)
    mean_los_elective: float | None = Field(default=3.0, gt=0, le=60)


class ThresholdsConfig(_Strict):
    """Surge and occupancy thresholds behind the escalation levels (placeholders until tuned)."""

    surge_quantiles: tuple[float, ...] = (0.9, 0.975)
    surge_lookback_days: int = Field(default=365, ge=28)
    occupancy_comfort: float = Field(default=0.85, gt=0, le=1.5)
    occupancy_ceiling: float = Field(default=0.92, gt=0, le=1.5)
    alert_probability: float = Field(default=0.5, gt=0, lt=1)

    @field_validator("surge_quantiles")
    @classmethod
    def _quantiles(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 < q < 1 for q in v):
            raise ValueError("each quantile must be strictly between 0 and 1")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdsConfig:
        if self.occupancy_comfort >= self.occupancy_ceiling:
            raise ValueError("occupancy_comfort must be below occupancy_ceiling")
        return self


class EscalationConfig(_Strict):
    """Rules that turn risk into a recommended level (NHS OPEL 1-4); see ``escalation.levels``.

    Level 4 if P(attendances > high surge line) >= ``severe_probability`` or forecast
    occupancy >= ``thresholds.occupancy_ceiling + severe_occupancy_margin``; level 3 if
    P(surge) >= ``thresholds.alert_probability`` or forecast occupancy >= the ceiling; level 2
    if P(surge) >= ``pressure_probability`` or forecast occupancy >= the comfort line; else 1.
    Levels follow weekday surges (unusual for the weekday) unless ``weekday_adjusted_lines`` is
    false (capacity surges: above a flat line). Surge probabilities are recalibrated on earlier
    warnings' outcomes once ``recalibrate_min_surges`` surges (0: never) are known.
    ``upper_quantile`` sets the cautious attendance path (every day at that quantile) that sizes
    the planned-care advice; the other keys tune the learned conversion rate and the reasons.
    """

    weekday_adjusted_lines: bool = True
    pressure_probability: float = Field(default=0.2, gt=0, lt=1)
    severe_probability: float = Field(default=0.5, gt=0, lt=1)
    severe_occupancy_margin: float = Field(default=0.05, ge=0, le=0.5)
    upper_quantile: float = 0.95
    conversion_window_days: int = Field(default=28, ge=7, le=365)
    trend_window_days: int = Field(default=28, ge=7, le=182)
    trend_min_change: float = Field(default=0.05, gt=0, lt=1)
    weekday_min_effect: float = Field(default=0.05, gt=0, lt=1)
    recent_days: int = Field(default=3, ge=1, le=28)
    recalibrate_min_surges: int = Field(default=15, ge=0, le=10_000)

    @field_validator("upper_quantile")
    @classmethod
    def _known_quantile(cls, v: float) -> float:
        if v not in UPPER_QUANTILES:
            upper = ", ".join(f"{q:g}" for q in UPPER_QUANTILES)
            raise ValueError(f"must be one of the forecast's upper quantiles: {upper}")
        return v


class ElectivesConfig(_Strict):
    """Planned care: shares of each day's elective list that may never be deferred.

    Every category listed is protected (e.g. cancer, clinically urgent / time-critical); the
    rest of the list is deferrable at escalation level 3 or above. List every protected
    category: a mapping given in a config file replaces this one.
    """

    protected: dict[str, float] = Field(default_factory=lambda: {"cancer": 0.15, "urgent": 0.2})

    @field_validator("protected")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= share <= 1 for share in v.values()):
            raise ValueError("each protected share must be between 0 and 1")
        if sum(v.values()) > 1 + 1e-9:
            raise ValueError("protected shares add up to more than 1")
        return v

    @property
    def deferrable_share(self) -> float:
        """Share of a day's elective list that may be reviewed for deferral."""
        return max(0.0, 1.0 - sum(self.protected.values()))


class OpelParameter(_Strict):
    """One row of the OPEL-style scoring table (see ``forecasting.pressure.opel``).

    ``source`` names the column of the per trust-day frame holding the value; the three
    ascending ``thresholds`` cut it into bands 1-4 (band ``b`` once the value reaches the
    ``b-1``-th cut point); the parameter scores ``weight * (band - 1)`` points.
    """

    source: str
    thresholds: tuple[float, float, float]
    weight: float = Field(default=1.0, gt=0)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not v[0] < v[1] < v[2]:
            raise ValueError("thresholds must be strictly ascending (band 2, 3 and 4 cut points)")
        return v


def _default_opel_parameters() -> dict[str, OpelParameter]:
    return {
        "occupancy": OpelParameter(source="occupancy", thresholds=(0.92, 0.95, 0.98), weight=2.0),
        "occupancy_ge_97": OpelParameter(
            source="p_occupancy_ge_0.97", thresholds=(0.25, 0.5, 0.75), weight=1.0
        ),
        "handovers_over_60min": OpelParameter(
            source="handovers_over_60min_per_100_beds", thresholds=(0.3, 1.0, 2.0), weight=1.0
        ),
        "attendance_surge": OpelParameter(source="p_surge", thresholds=(0.2, 0.5, 0.8), weight=1.0),
        "own_normal": OpelParameter(
            source="p_above_own_normal", thresholds=(0.25, 0.5, 0.75), weight=1.0
        ),
    }


class PressureConfig(_Strict):
    """Bed pressure: occupancy lines, trust-relative normal, OPEL-style scoring and advice.

    ``occupancy_lines``: P(occupancy >= line) is reported for each. ``normal_quantile`` of a
    trust's occupancy in its previous segment (winter) is its own normal; with no previous
    segment, its last ``normal_fallback_days`` observed days. ``handover_window_days``: the
    recent window of the ambulance handover parameter. ``parameters`` is the scoring table and
    ``level_cuts`` the three ascending score cut points of levels 2, 3 and 4 (on the scale of the
    whole table: missing parameters are rescaled away). The advice defers electives until
    P(occupancy >= ``advice_ceiling``) <= ``advice_target_probability``. The defaults were set on
    the English winter sitreps 2015-21: a starting point each trust sets locally.
    """

    occupancy_lines: tuple[float, ...] = (0.92, 0.95, 0.97)
    normal_quantile: float = Field(default=0.9, gt=0, lt=1)
    normal_fallback_days: int = Field(default=90, ge=7, le=366)
    handover_window_days: int = Field(default=7, ge=1, le=28)
    parameters: dict[str, OpelParameter] = Field(default_factory=_default_opel_parameters)
    level_cuts: tuple[float, float, float] = (2.0, 7.0, 13.0)
    advice_ceiling: float = Field(default=0.92, gt=0, le=1.5)
    advice_target_probability: float = Field(default=0.2, gt=0, lt=1)

    @field_validator("occupancy_lines")
    @classmethod
    def _lines(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 < line <= 1.5 for line in v):
            raise ValueError("each occupancy line must be above 0 and at most 1.5")
        if any(v[i + 1] <= v[i] for i in range(len(v) - 1)):
            raise ValueError("occupancy lines must be strictly ascending")
        return v

    @field_validator("parameters")
    @classmethod
    def _some_parameters(cls, v: dict[str, OpelParameter]) -> dict[str, OpelParameter]:
        if not v:
            raise ValueError("the scoring table needs at least one parameter")
        return v

    @field_validator("level_cuts")
    @classmethod
    def _ascending_cuts(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not 0 < v[0] < v[1] < v[2]:
            raise ValueError("level cut points must be positive and strictly ascending")
        return v


class MlflowConfig(_Strict):
    """Where runs and models go; ``tracking_uri: null`` = ``sqlite:///mlflow.db`` in the cwd."""

    tracking_uri: str | None = None
    experiment: str = "forecasting"
    model_name: str = "ed-demand"
    readmission_model_name: str = "ed-readmission"
    # backtest metric a challenger must beat to be promoted (lower is better)
    promotion_metric: Literal["pinball", "MAE", "RMSE", "MASE", "brier"] = "pinball"
    # a challenger may be worse than the champion by at most this share at any horizon or site
    promotion_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    # ... and by at most this much on the surge Brier score, overall and at any horizon
    brier_tolerance: float = Field(default=0.01, ge=0.0, le=1.0)
    # readmission: the challenger's held-out Brier may exceed the champion's by at most this,
    # and its calibration slope must lie within this distance of 1
    readmission_brier_tolerance: float = Field(default=0.002, ge=0.0, le=1.0)
    readmission_slope_tolerance: float = Field(default=0.2, ge=0.0, le=5.0)
    backtest_windows: int = Field(default=8, ge=1, le=104)


class Config(_Strict):
    """The whole configuration."""

    horizon: int = Field(default=7, ge=1, le=90)
    gap_policy: Literal["fill", "refuse"] = "fill"
    segment_gap_days: int = Field(default=14, ge=1, le=366)
    columns: ColumnsConfig = Field(default_factory=ColumnsConfig)
    holidays: HolidaysConfig = Field(default_factory=HolidaysConfig)
    site_defaults: SiteDefaults = Field(default_factory=SiteDefaults)
    sites: dict[str, SiteSettings] = Field(default_factory=dict)
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    electives: ElectivesConfig = Field(default_factory=ElectivesConfig)
    pressure: PressureConfig = Field(default_factory=PressureConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)

    @model_validator(mode="after")
    def _escalation_order(self) -> Config:
        if self.escalation.pressure_probability >= self.thresholds.alert_probability:
            raise ValueError(
                "escalation.pressure_probability must be below thresholds.alert_probability"
            )
        return self

    def site(self, site_id: str) -> SiteSettings:
        """Return a site's settings with unset values filled from ``site_defaults``."""
        own = self.sites.get(site_id, SiteSettings()).model_dump(exclude_none=True)
        merged = {**self.site_defaults.model_dump(exclude_none=True), **own}
        return SiteSettings(**merged)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"key '{key}': unknown key (check the spelling; see configs/default.yaml)"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    more = len(exc.errors()) - 1
    tail = f"; {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"key '{key}': {msg}{shown}{tail}"


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Fix: check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text. Fix: re-save it as UTF-8.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{line}. Fix: correct the syntax.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level.")
    return data


def config_from_dict(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a config mapping.

    Args:
        data: The mapping (e.g. parsed YAML).
        source: Name used in error messages.

    Raises:
        ConfigError: Naming the source and the first invalid key.
    """
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}.") from exc


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a YAML config; ``None`` gives the embedded defaults.

    Raises:
        ConfigError: If the file is missing, not YAML, or a key is unknown or invalid.
    """
    if path is None:
        return Config()
    p = Path(path)
    return config_from_dict(_read_yaml(p), str(p))


def load_sites(path: str | Path) -> dict[str, SiteSettings]:
    """Load a ``sites.yaml`` (a mapping under ``sites:``) as written by ``data synth``.

    Raises:
        ConfigError: If the file is missing or a site's settings are invalid.
    """
    p = Path(path)
    data = _read_yaml(p)
    unknown = set(data) - {"sites"}
    if unknown:
        raise ConfigError(f"{p}: key '{sorted(unknown)[0]}': unknown key (expected only 'sites').")
    return config_from_dict({"sites": data.get("sites") or {}}, str(p)).sites


def sites_yaml(sites: dict[str, SiteSettings]) -> str:
    """Render site settings as YAML text that :func:`load_sites` reads back."""
    import yaml

    body = {
        sid: {k: list(v) if isinstance(v, tuple) else v for k, v in s.model_dump().items()}
        for sid, s in sites.items()
    }
    header = (
        "# Site settings (capacity and flow). Loaded by --sites; keys as in configs/default.yaml.\n"
    )
    return header + yaml.safe_dump({"sites": body}, sort_keys=False)
