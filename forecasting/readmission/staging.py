"""Write a training run's files aside, and put them in place only once everything succeeded.

``readmission train`` writes a model bundle (with its ``.sha256``) and a report folder, then
logs them to MLflow. If any step fails, the model and report already in place must stay as
they were: the files are first written into hidden folders beside their targets (same disk,
so the final renames are atomic), and :meth:`Staging.publish` moves them in at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from forecasting.trust import sidecar_path


@dataclass(frozen=True)
class Staging:
    """Where to write a run's files now, and where they go on :meth:`publish`.

    Attributes:
        model: Staged path of the model bundle (same file name as the target).
        report: Staged report folder.
        final_model: Where the bundle goes.
        final_report: Where the report's files go.
    """

    model: Path
    report: Path
    final_model: Path
    final_report: Path

    def final(self, staged: Path) -> Path:
        """Where a staged file (the model, its hash, or a report file) will be."""
        if staged.is_relative_to(self.report):
            return self.final_report / staged.relative_to(self.report)
        return self.final_model.parent / staged.name

    def publish(self) -> None:
        """Move the report files in, then the model's hash and the model (atomic renames)."""
        for staged in sorted(p for p in self.report.rglob("*") if p.is_file()):
            target = self.final(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        for staged in (sidecar_path(self.model), self.model):
            if staged.exists():
                os.replace(staged, self.final(staged))


@contextmanager
def staging(model: str | Path, report: str | Path) -> Iterator[Staging]:
    """Hidden folders beside ``model`` and ``report``, removed when the block ends.

    Args:
        model: The bundle's final path.
        report: The report folder's final path.
    """
    final_model, final_report = Path(model), Path(report)
    roots: list[Path] = []
    try:
        for parent, name in (
            (final_model.parent, final_model.name),
            (final_report.parent, "report"),
        ):
            parent.mkdir(parents=True, exist_ok=True)
            roots.append(Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".staged", dir=parent)))
        yield Staging(roots[0] / final_model.name, roots[1] / "report", final_model, final_report)
    finally:
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)
