"""Helpers shared by the tracking tests.

Creating an MLflow SQLite store runs all its schema migrations (5-8 s on 2 busy cores), so the
tests copy one empty, migrated database made once per session instead.
"""

import shutil
from pathlib import Path

import pytest


def empty_store(factory: pytest.TempPathFactory, target: Path) -> str:
    """Copy an empty, migrated MLflow database to ``target``; return its ``sqlite:///`` URI."""
    template = factory.getbasetemp() / "mlflow-template" / "mlflow.db"
    if not template.exists():
        from mlflow import MlflowClient

        template.parent.mkdir(exist_ok=True)
        MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def test_empty_store_when_copied_is_a_working_store(tmp_path_factory, tmp_path):
    from mlflow import MlflowClient

    uri = empty_store(tmp_path_factory, tmp_path / "a" / "mlflow.db")
    client = MlflowClient(tracking_uri=uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    client.create_experiment("x")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "x"]
