"""How a logged backtest was run: its cutoffs, spacing, horizon and refit cadence."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd

STEP = 7
REFIT_EVERY = 4


@dataclass(frozen=True)
class BacktestProtocol:
    """How a backtest was run: its cutoffs, their spacing, the horizon and refit cadence.

    Attributes:
        cutoffs: The cutoff days, oldest first.
        horizon: Days ahead scored after each cutoff.
        step: Days between cutoffs (the greatest common divisor of the gaps: a window
            skipped in a data gap does not change it); ``None`` with one cutoff.
        refit_every: Windows between re-estimations, ``None`` if unknown (a backtest run by
            the caller).
    """

    cutoffs: tuple[pd.Timestamp, ...]
    horizon: int
    step: int | None
    refit_every: int | None

    @property
    def cutoffs_text(self) -> str:
        """``0=YYYY-MM-DD 1=...``: the step index of each cutoff in the window metrics."""
        return " ".join(f"{i}={c:%Y-%m-%d}" for i, c in enumerate(self.cutoffs))[:5000]

    def describe(self) -> str:
        """One line for tags and descriptions."""
        if not self.cutoffs:
            return "no backtest"
        every = f" every {self.step} days" if self.step else ""
        refit = f", re-estimated every {self.refit_every}" if self.refit_every else ""
        return (
            f"{len(self.cutoffs)} cutoffs{every} from {self.cutoffs[0]:%Y-%m-%d} to "
            f"{self.cutoffs[-1]:%Y-%m-%d}, {self.horizon} days ahead{refit}"
        )


def backtest_protocol(bt: pd.DataFrame, horizon: int, refit_every: int | None) -> BacktestProtocol:
    """The protocol of a backtest frame, read from its cutoffs."""
    cuts = tuple(pd.Timestamp(c) for c in sorted(pd.to_datetime(bt["cutoff"]).unique()))
    gaps = [int((b - a).days) for a, b in itertools.pairwise(cuts)]
    step = math.gcd(*gaps) if gaps else None
    return BacktestProtocol(cuts, horizon, step, refit_every)
