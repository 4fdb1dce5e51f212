"""Model features of an EpisodeFrame: roles, LACE, comorbidities, history and generic columns.

:class:`EpisodeFeatures` follows scikit-learn: ``fit`` learns the categorical levels and the
column list from training episodes, ``transform`` builds the same columns for any episodes.
Categoricals stay categorical (pandas ``category``, handled natively by LightGBM): levels
seen fewer than ``min_category_count`` times in training become ``"other"``, so no rare
(possibly identifying) value is ever stored in a model.

History features use the patient's own earlier episodes in the same file, in time order
(``time_order``, see :mod:`forecasting.readmission.load`), never later ones, and never their
labels (so scoring needs no outcome column): ``prior_episodes``, ``prior_emergency_episodes``,
``prior_stay_days`` (total length of stay), ``days_since_discharge`` (when dates exist), and
for the counts of :data:`CARRIED` and every generic numeric column, the previous episode's
value (``previous_<col>``) and the largest earlier value (``max_before_<col>``).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from forecasting.errors import NotFittedError
from forecasting.readmission.charlson import detect_icd_version
from forecasting.readmission.lace import lace_points
from forecasting.readmission.values import map_unique

ROLE_NUMERIC = (
    "length_of_stay",
    "emergency",
    "age",
    "charlson",
    "comorbidity_count",
    "ed_visits_6m",
    "prior_admissions_12m",
)
ROLE_CATEGORICAL = ("site_id", "admission_type", "sex", "race", "discharge_destination")
#: Role columns whose previous and largest earlier values are history features (with every
#: generic numeric column): a rising count of admissions is a warning of its own.
CARRIED = (
    "length_of_stay",
    "charlson",
    "comorbidity_count",
    "ed_visits_6m",
    "prior_admissions_12m",
)
HISTORY = ("prior_episodes", "prior_emergency_episodes", "prior_stay_days", "days_since_discharge")
OTHER = "other"

#: Strack et al. (2014) groups of ICD-9 diagnoses (by 3-digit category) for the UCI file.
ICD9_GROUPS = (
    ("circulatory", ((390, 460), (785, 786))),
    ("respiratory", ((460, 520), (786, 787))),
    ("digestive", ((520, 580), (787, 788))),
    ("injury", ((800, 1000),)),
    ("musculoskeletal", ((710, 740),)),
    ("genitourinary", ((580, 630), (788, 789))),
    ("neoplasms", ((140, 240),)),
)


def diagnosis_group(code: object, version: int = 9) -> str | None:
    """Return a broad group of one ICD code: Strack's ICD-9 groups, or the ICD-10 chapter letter.

    Args:
        code: A raw ICD code (``"428.0"``, ``"V57"``, ``"I50.9"``).
        version: 9 or 10 (see :func:`~forecasting.readmission.charlson.detect_icd_version`).

    Returns:
        ``"diabetes"`` for 250.x / E10-E14, a Strack group or ``"other"`` (ICD-9), the
        chapter letter (ICD-10), or ``None`` for a missing code.
    """
    if code is None or (isinstance(code, float) and np.isnan(code)) or str(code).strip() == "":
        return None
    text = str(code).strip().upper()
    if version == 10:
        return "diabetes" if text[:3] in {"E10", "E11", "E12", "E13", "E14"} else text[:1]
    head = text.split(".")[0]
    if not head.isdigit():
        return OTHER  # V (supplementary) and E (external cause) codes
    number = int(head)
    if number == 250:
        return "diabetes"
    for name, spans in ICD9_GROUPS:
        if any(lo <= number < hi for lo, hi in spans):
            return name
    return OTHER


def _category(code: object) -> str:
    """Return the 3-character category of an ICD code (the part before the dot)."""
    return str(code).split(".")[0].upper()


def _level(value: object, known: frozenset[str]) -> str:
    """Return a categorical value as text, or ``"other"`` if it is not a known level."""
    return str(value) if str(value) in known else OTHER


def history_features(frame: pd.DataFrame, carried: tuple[str, ...] = ()) -> pd.DataFrame:
    """Summarise each patient's earlier episodes in the frame (time order; never later ones).

    Args:
        frame: An EpisodeFrame with ``patient_id`` and ``time_order``.
        carried: Numeric columns whose value at the previous episode (``previous_<col>``) and
            largest value over all earlier episodes (``max_before_<col>``) are added.

    Returns:
        The :data:`HISTORY` columns and the carried ones, aligned with ``frame`` (NaN where
        there is no earlier episode; ``days_since_discharge`` is NaN without dates).
    """
    order = np.argsort(frame["time_order"].to_numpy(), kind="stable")
    f = frame.iloc[order]
    group = f.groupby("patient_id", sort=False)
    out = pd.DataFrame(index=f.index)
    out["prior_episodes"] = group.cumcount().astype(float)
    for name, col in (
        ("prior_emergency_episodes", "emergency"),
        ("prior_stay_days", "length_of_stay"),
    ):
        if col in f:
            values = f[col].fillna(0.0)
            out[name] = values.groupby(f["patient_id"], sort=False).cumsum() - values
        else:
            out[name] = np.nan
    out["days_since_discharge"] = np.nan
    if "discharge_date" in f and "admission_date" in f:
        previous = group["discharge_date"].shift(1)
        out["days_since_discharge"] = (f["admission_date"] - previous).dt.days.astype(float)
    for col in carried:
        before = group[col].shift(1).astype(float)
        out[f"previous_{col}"] = before
        out[f"max_before_{col}"] = before.groupby(f["patient_id"], sort=False).cummax()
    return out.loc[frame.index]


class EpisodeFeatures:
    """Build the model matrix from an EpisodeFrame.

    Args:
        min_category_count: Categorical levels seen fewer times in training become ``"other"``.
        max_categories: At most this many levels per categorical column (the most frequent).
        history: Add the patient-history features.
        diagnosis_codes: Also use each diagnosis column's 3-character code as a category
            (off by default: on UCI its hundreds of levels overfit, -0.004 AUROC in grouped
            cross-validation; the broad groups and the Charlson conditions are always used).
    """

    def __init__(
        self,
        min_category_count: int = 20,
        max_categories: int = 60,
        history: bool = True,
        diagnosis_codes: bool = False,
    ) -> None:
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        self.history = history
        self.diagnosis_codes = diagnosis_codes

    def _base(self, frame: pd.DataFrame) -> pd.DataFrame:
        """All candidate columns, before categorical levels are applied."""
        out = pd.DataFrame(index=frame.index)
        for col in ROLE_NUMERIC:
            if col in frame:
                out[col] = frame[col].astype(float)
        inputs = ("length_of_stay", "emergency", "charlson", "ed_visits_6m")
        lace = lace_points(
            *(frame[c] if c in frame else np.full(len(frame), np.nan) for c in inputs)
        )
        out["lace"] = lace["lace"].to_numpy(dtype=float)
        for col in frame.columns:
            if str(col).startswith("cci_"):
                out[col] = frame[col].astype(float)
        if self.history:
            carried = [c for c in CARRIED if c in frame] + list(frame.attrs.get("numeric", []))
            out = out.join(history_features(frame, tuple(carried)))
        for col in frame.attrs.get("numeric", []):
            out[col] = frame[col].astype(float)
        for col in ROLE_CATEGORICAL:
            if col in frame:
                out[col] = frame[col]
        for col in frame.attrs.get("diagnoses", []):
            codes = frame[col]
            version = detect_icd_version(codes.dropna().unique())
            if self.diagnosis_codes:
                out[col] = map_unique(codes, _category)
            out[f"{col}_group"] = map_unique(
                codes, functools.partial(diagnosis_group, version=version)
            )
        for col in frame.attrs.get("categorical", []):
            out[col] = frame[col]
        return out

    def fit(self, frame: pd.DataFrame) -> EpisodeFeatures:
        """Learn the columns and the categorical levels from training episodes.

        Args:
            frame: Training EpisodeFrame.

        Returns:
            self.
        """
        base = self._base(frame)
        self.numeric_ = [c for c in base.columns if base[c].dtype.kind == "f"]
        self.levels_: dict[str, list[str]] = {}
        for col in base.columns:
            if col in self.numeric_:
                continue
            counts = base[col].dropna().astype(str).value_counts()
            kept = counts[counts >= self.min_category_count].index[: self.max_categories]
            levels = sorted(str(level) for level in kept if level != OTHER)
            self.levels_[col] = [*levels, OTHER] if levels else []
        self.levels_ = {c: lv for c, lv in self.levels_.items() if len(lv) > 1}
        self.columns_ = [*self.numeric_, *self.levels_]
        self.source_ = frame.attrs.get("roles", {})
        self.inputs_ = sorted(
            {
                str(c)
                for kind in ("numeric", "categorical", "diagnoses")
                for c in frame.attrs.get(kind, [])
            }
        )
        return self

    def missing_inputs(self, frame: pd.DataFrame) -> list[str]:
        """Columns the features were fitted on that ``frame`` lacks, by their names in the file.

        Without them every episode would get the same (missing) value, and the same risk.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        if not hasattr(self, "columns_"):
            raise NotFittedError("EpisodeFeatures is not fitted: call fit(episodes) first")
        roles = [source for role, source in self.source_.items() if role not in frame]
        generic = [c for c in getattr(self, "inputs_", []) if c not in frame]
        return [*roles, *generic]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the feature matrix: floats and ``category`` columns, in a fixed order.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        if not hasattr(self, "columns_"):
            raise NotFittedError("EpisodeFeatures is not fitted: call fit(episodes) first")
        base = self._base(frame)
        out = pd.DataFrame(index=frame.index)
        for col in self.numeric_:
            out[col] = base[col].astype(float) if col in base else np.nan
        for col, levels in self.levels_.items():
            raw = base[col] if col in base else pd.Series(None, index=frame.index, dtype=object)
            mapped = map_unique(raw, functools.partial(_level, known=frozenset(levels)))
            codes = pd.Index(levels).get_indexer(pd.Index(mapped))
            out[col] = pd.Categorical.from_codes(list(codes), categories=pd.Index(levels))
        return out[self.columns_]

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit, then transform the same episodes."""
        return self.fit(frame).transform(frame)
