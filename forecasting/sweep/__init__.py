"""Sweeps: backtest many model configurations on the same cutoffs, compare, name the best.

Read a sweep file with :func:`load_sweep` (or validate a mapping with
:func:`sweep_from_dict`) and run it with :func:`run_sweep` on any executor.
:func:`forecasting.tracking.sweep.log_sweep` logs it: an MLflow parent run with the comparison
table and one child run per configuration. ``configs/sweep-example.yaml`` documents the file.
"""

from forecasting.sweep.run import SweepResult, run_sweep, sweep_chunks
from forecasting.sweep.spec import (
    MAX_CONFIGURATIONS,
    METRICS,
    Configuration,
    SweepSpec,
    load_sweep,
    lower_is_better,
    sweep_from_dict,
)

__all__ = [
    "MAX_CONFIGURATIONS",
    "METRICS",
    "Configuration",
    "SweepResult",
    "SweepSpec",
    "load_sweep",
    "lower_is_better",
    "run_sweep",
    "sweep_chunks",
    "sweep_from_dict",
]
