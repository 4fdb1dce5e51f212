"""Review a challenger against the champion on the same data and the same backtest cutoffs.

When both runs saw the same data (same fingerprint) and were scored at the same cutoffs, their
logged backtests are compared row for row. Otherwise the champion is re-scored: its model is
loaded (after checking the SHA-256 the registry recorded), re-estimated at the challenger's
cutoffs on the challenger's data with the challenger's protocol, and that backtest is compared.
When neither is possible the review says why and the promotion is refused: nothing is compared
silently.

The review is logged into the challenger's run (``review/comparison.csv``, ``.md``, ``.png``
and, when re-scored, ``review/champion_backtest.csv``) and summarised in the version's
description.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting.config import Config
from forecasting.tracking.comparison import compare_backtests, comparison_chart, judge
from forecasting.tracking.comparison import summary_markdown as _summary
from forecasting.tracking.errors import PromotionRefusedError, UntrustedModelError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

REVIEW_DIR = "review"
CHAMPION_TAG = "review.champion_version"
BASIS_TAG = "review.basis"
VERDICT_TAG = "review.verdict"
SAME = "same"
RESCORED = "rescored"


@dataclass(frozen=True)
class Review:
    """A challenger judged against the champion.

    Attributes:
        name: Registered model name.
        champion: The champion's version.
        challenger: The challenger's version.
        metric: The promotion metric (lower is better).
        basis: How both were put on the same footing, in words.
        table: :func:`~forecasting.tracking.comparison.compare_backtests` output.
        reasons: Why the challenger must not be promoted (empty: it may be).
        tolerance: Relative tolerance on ``metric`` per horizon and per site.
        brier_tolerance: Absolute tolerance on the surge Brier score.
    """

    name: str
    champion: str
    challenger: str
    metric: str
    basis: str
    table: pd.DataFrame = field(repr=False)
    reasons: tuple[str, ...]
    tolerance: float
    brier_tolerance: float

    @property
    def passed(self) -> bool:
        """Whether the challenger may be promoted."""
        return not self.reasons

    def value(self, who: str) -> float:
        """Overall ``metric`` of ``champion`` or ``challenger`` on the shared backtest."""
        overall = self.table[self.table["scope"] == "overall"].iloc[0]
        return float(overall[f"{self.metric}_{who}"])

    def summary(self) -> str:
        """Markdown summary (verdict, basis, overall and per-horizon table)."""
        return _summary(
            self.table,
            self.metric,
            self.reasons,
            self.champion,
            self.challenger,
            self.basis,
            self.tolerance,
            self.brier_tolerance,
        )

    def refusal(self) -> str:
        """One line saying why the promotion is refused."""
        new, old = self.value("challenger"), self.value("champion")
        head = f"challenger version {self.challenger} of '{self.name}'"
        if not new < old:
            head += (
                f" ({self.metric} {new:.4g}) does not beat champion version {self.champion} "
                f"({self.metric} {old:.4g})"
            )
        else:
            head += f" is worse than champion version {self.champion} where it matters"
        shown = list(self.reasons[:6]) + (
            [f"and {len(self.reasons) - 6} more"] if len(self.reasons) > 6 else []
        )
        return (
            f"{head}, on {self.basis}: {'; '.join(shown)}. Nothing changed. Fix: read "
            "review/comparison.md of the challenger's run (forecasting ui), train a better "
            "model, or use --force --reason TEXT"
        )


def tolerances(cfg: Config, tolerance: float | None, brier: float | None) -> tuple[float, float]:
    """The tolerances to apply: the options if given, else the config's."""
    return (
        cfg.mlflow.promotion_tolerance if tolerance is None else tolerance,
        cfg.mlflow.brier_tolerance if brier is None else brier,
    )


def review_version(
    cfg: Config,
    client: MlflowClient,
    uri: str,
    name: str,
    version: str,
    frame: pd.DataFrame | None = None,
    bt: pd.DataFrame | None = None,
    tolerance: float | None = None,
    brier_tolerance: float | None = None,
    champion: ModelVersion | None = None,
) -> Review | None:
    """Compare ``version`` with the champion, log the review and describe the version.

    Args:
        cfg: Configuration (promotion metric, tolerances).
        client: Client on the registry.
        uri: The store's URI.
        name: Registered model name.
        version: The challenger's version.
        frame: The challenger's data (default: the copy its run stored).
        bt: The challenger's backtest (default: its run's ``backtest.csv``).
        tolerance: Relative tolerance on the metric (default: config).
        brier_tolerance: Absolute tolerance on the surge Brier score (default: config).
        champion: The champion's version (default: the one holding the alias).

    Returns:
        The review, or ``None`` if there is no champion (or ``version`` is the champion).

    Raises:
        PromotionRefusedError: If the two cannot be compared on the same footing.
    """
    from forecasting.tracking.registry import CHAMPION, set_review_description, version_by_alias

    champion = champion or version_by_alias(client, name, CHAMPION)
    if champion is None or str(champion.version) == str(version):
        return None
    challenger = client.get_model_version(name, version)
    metric = cfg.mlflow.promotion_metric
    tol, brier_tol = tolerances(cfg, tolerance, brier_tolerance)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        table, basis, kind, rescored = _shared_table(
            client, uri, name, champion, challenger, metric, frame, bt, root
        )
        reasons = tuple(judge(table, metric, tol, brier_tol))
        review = Review(
            name,
            str(champion.version),
            str(version),
            metric,
            basis,
            table,
            reasons,
            tol,
            brier_tol,
        )
        _log(client, str(challenger.run_id), review, kind, rescored, root / "out")
    set_review_description(client, name, str(version), review.summary())
    _tag(client, review, kind)
    return review


def stored_review(
    cfg: Config,
    client: MlflowClient,
    name: str,
    challenger: ModelVersion,
    champion: ModelVersion,
    tolerance: float | None = None,
    brier_tolerance: float | None = None,
) -> Review | None:
    """The review logged against this champion, judged with the given tolerances, if any."""
    from mlflow.exceptions import MlflowException

    from forecasting.tracking.registry import set_review_description

    tags = challenger.tags or {}
    metric = cfg.mlflow.promotion_metric
    if tags.get(CHAMPION_TAG) != str(champion.version) or not challenger.run_id:
        return None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(challenger.run_id, f"{REVIEW_DIR}/comparison.csv", tmp)
            table = pd.read_csv(path, dtype={"key": str})
    except (MlflowException, OSError):
        return None
    if f"{metric}_champion" not in table:
        return None
    tol, brier_tol = tolerances(cfg, tolerance, brier_tolerance)
    review = Review(
        name,
        str(champion.version),
        str(challenger.version),
        metric,
        str(tags.get(BASIS_TAG, "the logged review")),
        table,
        tuple(judge(table, metric, tol, brier_tol)),
        tol,
        brier_tol,
    )
    set_review_description(client, name, str(challenger.version), review.summary())
    client.set_model_version_tag(name, str(challenger.version), VERDICT_TAG, _verdict(review))
    return review


def _shared_table(
    client: MlflowClient,
    uri: str,
    name: str,
    champion: ModelVersion,
    challenger: ModelVersion,
    metric: str,
    frame: pd.DataFrame | None,
    bt: pd.DataFrame | None,
    root: Path,
) -> tuple[pd.DataFrame, str, str, pd.DataFrame | None]:
    from forecasting.tracking.datasets import load_run_data

    who = f"version {challenger.version} of '{name}'"
    if not challenger.run_id or not champion.run_id:
        raise PromotionRefusedError(f"{who} or its champion has no training run to compare")
    mine = client.get_run(challenger.run_id).data.params
    theirs = client.get_run(champion.run_id).data.params
    if bt is None:
        bt = _backtest(client, challenger.run_id, root / "challenger")
    if bt is None:
        raise PromotionRefusedError(
            f"{who} has no logged backtest (backtest.csv) to compare. Fix: retrain it with "
            "`forecasting train`, or use --force --reason TEXT"
        )
    if frame is None:
        frame = load_run_data(client, challenger.run_id, root / "data")
    if frame is None:
        raise PromotionRefusedError(
            f"{who} was logged without its data (data/demand.parquet), so the champion cannot "
            "be scored on the same data. Fix: retrain it with this version of `forecasting "
            "train`, or use --force --reason TEXT"
        )
    horizon = int(bt["horizon"].max())
    cuts = sorted(pd.to_datetime(bt["cutoff"]).unique())
    theirs_bt = _backtest(client, champion.run_id, root / "champion")
    same_data = bool(mine.get("data.sha256")) and mine.get("data.sha256") == theirs.get(
        "data.sha256"
    )
    if (
        same_data
        and theirs_bt is not None
        and sorted(pd.to_datetime(theirs_bt["cutoff"]).unique()) == cuts
        and int(theirs_bt["horizon"].max()) == horizon
    ):
        basis = (
            f"the same data (sha256 {str(mine['data.sha256'])[:12]}) and the same "
            f"{len(cuts)} cutoffs ({pd.Timestamp(cuts[0]):%Y-%m-%d} to "
            f"{pd.Timestamp(cuts[-1]):%Y-%m-%d})"
        )
        return compare_backtests(theirs_bt, bt, frame, metric), basis, SAME, None
    why = "different data" if not same_data else "different cutoffs"
    refit = _int(mine.get("backtest.refit_every"))
    rescored = _rescore(client, uri, name, champion, frame, cuts, horizon, refit, why)
    basis = (
        f"the challenger's data and its {len(cuts)} cutoffs "
        f"({pd.Timestamp(cuts[0]):%Y-%m-%d} to {pd.Timestamp(cuts[-1]):%Y-%m-%d}), the champion "
        f"re-scored on them ({why} in its own run)"
    )
    return compare_backtests(rescored, bt, frame, metric), basis, RESCORED, rescored


def _rescore(
    client: MlflowClient,
    uri: str,
    name: str,
    champion: ModelVersion,
    frame: pd.DataFrame,
    cuts: list[Any],
    horizon: int,
    refit_every: int | None,
    why: str,
) -> pd.DataFrame:
    """The champion's model re-estimated at ``cuts`` on ``frame``, with the truth joined."""
    from forecasting.evaluate.backtest import BacktestPlan, join_truth, run_chunk
    from forecasting.tracking.protocol import REFIT_EVERY

    model = _champion_model(client, uri, name, champion)
    own = int(client.get_run(str(champion.run_id)).data.params.get("horizon", horizon))
    prefix = f"cannot score champion version {champion.version} on the challenger's backtest"
    if own < horizon:
        raise PromotionRefusedError(
            f"{prefix} ({why}): it forecasts {own} days ahead and the challenger's backtest "
            f"needs {horizon}. Fix: train both with the same horizon, or use --force --reason TEXT"
        )
    refit = refit_every or REFIT_EVERY
    stamps = [pd.Timestamp(c) for c in cuts]
    chunks = [stamps[i : i + refit] for i in range(0, len(stamps), refit)]
    try:
        results = [run_chunk(model, frame, chunk, horizon) for chunk in chunks]
    except Exception as exc:  # any model failure on this data means: not comparable
        raise PromotionRefusedError(
            f"{prefix} ({why}): {type(exc).__name__}: {' '.join(str(exc).split())[:200]}. "
            "Fix: train both on the same data, or use --force --reason TEXT"
        ) from None
    plan = BacktestPlan([(model, chunk, horizon) for chunk in chunks], ["champion"] * len(chunks))
    return join_truth(frame, plan, results)


def _champion_model(client: MlflowClient, uri: str, name: str, champion: ModelVersion) -> Any:
    """The champion's forecaster, unpickled only if its SHA-256 is the one recorded."""
    import mlflow

    from forecasting.models.base import Forecaster
    from forecasting.tracking.pyfunc import FORECASTER_FILE
    from forecasting.trust import HASH_TAG, sha256_bytes

    expected = (champion.tags or {}).get(HASH_TAG) or client.get_run(
        str(champion.run_id)
    ).data.tags.get(HASH_TAG)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{champion.version}",
            dst_path=tmp,
            tracking_uri=uri,
            registry_uri=uri,
        )
        found = sorted(Path(local).rglob(FORECASTER_FILE))
        if not found:
            raise PromotionRefusedError(
                f"champion version {champion.version} of '{name}' holds no {FORECASTER_FILE}, "
                "so it cannot be re-scored. Fix: use --force --reason TEXT"
            )
        data = found[0].read_bytes()
    if not expected or sha256_bytes(data) != str(expected).lower():
        raise UntrustedModelError(
            f"the {FORECASTER_FILE} of '{name}' version {champion.version} does not match the "
            f"SHA-256 the registry recorded ({HASH_TAG}), so it was not loaded to re-score it. "
            "Fix: check who can write the store's artifacts"
        )
    model = pickle.loads(data)
    if not isinstance(model, Forecaster):
        raise PromotionRefusedError(f"champion version {champion.version} is not a forecaster")
    return model


def _backtest(client: MlflowClient, run_id: str, dest: Path) -> pd.DataFrame | None:
    from mlflow.exceptions import MlflowException

    try:
        path = client.download_artifacts(run_id, "backtest.csv", str(dest))
    except (MlflowException, OSError):
        return None
    bt = pd.read_csv(path, dtype={"site_id": str})
    for col in ("cutoff", "date"):
        bt[col] = pd.to_datetime(bt[col])
    return bt


def _log(
    client: MlflowClient,
    run_id: str,
    review: Review,
    kind: str,
    rescored: pd.DataFrame | None,
    out: Path,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    review.table.to_csv(out / "comparison.csv", index=False, float_format="%.6g")
    (out / "comparison.md").write_text(review.summary() + "\n", encoding="utf-8")
    comparison_chart(
        review.table,
        review.metric,
        review.tolerance,
        out / "comparison.png",
        f"'{review.name}': challenger v{review.challenger} against champion v{review.champion}"
        f" ({'champion re-scored' if kind == RESCORED else 'same data and cutoffs'})",
    )
    if rescored is not None:
        rescored.to_csv(
            out / "champion_backtest.csv", index=False, date_format="%Y-%m-%d", float_format="%.3f"
        )
    client.log_artifacts(run_id, str(out), REVIEW_DIR)
    for key, value in {
        CHAMPION_TAG: review.champion,
        BASIS_TAG: review.basis[:5000],
        VERDICT_TAG: _verdict(review),
    }.items():
        client.set_tag(run_id, key, value)


def _tag(client: MlflowClient, review: Review, kind: str) -> None:
    tags = {
        CHAMPION_TAG: review.champion,
        BASIS_TAG: review.basis[:5000],
        VERDICT_TAG: _verdict(review),
        "review.kind": kind,
    }
    for key, value in tags.items():
        client.set_model_version_tag(review.name, review.challenger, key, value)


def _verdict(review: Review) -> str:
    return "passes" if review.passed else f"refused: {'; '.join(review.reasons)}"[:5000]


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
