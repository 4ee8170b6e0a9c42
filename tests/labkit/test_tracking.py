"""labkit.tracking: MLflow on a SQLite file inside the working folder, torn down cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labkit.tracking import (
    import_mlflow,
    local_tracking,
    metric_steps,
    read_runs,
    start_tracking,
    stop_tracking,
)

mlflow = import_mlflow()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the tests that only need separate experiments (creating a DB takes ~2 s)."""
    return tmp_path_factory.mktemp("tracking") / "mlruns"


@pytest.fixture(autouse=True)
def _mlflow_left_clean():
    yield
    assert mlflow.active_run() is None
    assert not mlflow.is_tracking_uri_set(), "a test left MLflow pointing at its store"
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ


def test_telemetry_is_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.telemetry.client import get_telemetry_client

    for name in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):  # the Makefile sets them too
        monkeypatch.delenv(name, raising=False)
    assert import_mlflow() is mlflow
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "1"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert get_telemetry_client() is None


def test_everything_stays_inside_the_folder(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with local_tracking("inside", folder="mlruns") as store:
        assert store.folder == tmp_path / "mlruns"
        assert store.db_path == store.folder / "mlflow.db" and store.db_path.is_file()
        assert store.tracking_uri == f"sqlite:///{store.db_path.as_posix()}"
        assert mlflow.get_tracking_uri() == store.tracking_uri
        experiment = mlflow.get_experiment(store.experiment_id)
        assert experiment.name == "inside"
        assert experiment.artifact_location == store.artifact_dir.as_uri()
        with mlflow.start_run():
            mlflow.log_param("C", 1.0)
            mlflow.log_text("hello", "note.txt")  # an artifact: a file under artifacts/
    assert len(list(store.artifact_dir.rglob("note.txt"))) == 1
    assert {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")} == {"mlruns"}


def test_runs_read_back_as_plain_data(shared: Path) -> None:
    with local_tracking("plain", folder=shared) as store:
        with mlflow.start_run(run_name="first"):
            mlflow.log_params({"C": 0.5, "model": "LogisticRegression"})
            mlflow.log_metric("mean_score", 0.9)
            for step in (2, 0, 1):  # logged out of order, read back by step
                mlflow.log_metric("fold_score", 0.8 + step / 10, step=step)
        with mlflow.start_run(run_name="second"):
            mlflow.log_param("C", 2)
        runs = read_runs(store)
        steps = metric_steps(store, runs[0]["run_id"], "fold_score")
    assert [r["run_name"] for r in runs] == ["first", "second"]  # oldest first
    first = runs[0]
    assert first["status"] == "FINISHED"
    assert first["params"] == {"C": "0.5", "model": "LogisticRegression"}
    assert type(first["metrics"]["mean_score"]) is float and first["metrics"]["mean_score"] == 0.9
    assert first["metrics"]["fold_score"] == pytest.approx(1.0)  # the last step's value
    assert [s for s, _ in steps] == [0, 1, 2]
    assert [v for _, v in steps] == pytest.approx([0.8, 0.9, 1.0])
    assert runs[1]["params"] == {"C": "2"} and runs[1]["metrics"] == {}


def test_fresh_deletes_the_experiments_earlier_runs_only(shared: Path) -> None:
    for name in ("again", "other"):
        with local_tracking(name, folder=shared), mlflow.start_run():
            mlflow.log_metric("m", 1.0)
    with local_tracking("again", folder=shared) as store:  # reopened: the run is still there
        assert len(read_runs(store)) == 1
    with local_tracking("again", folder=shared, fresh=True) as store:
        assert read_runs(store) == []
        with mlflow.start_run():
            mlflow.log_metric("m", 2.0)
        assert [r["metrics"]["m"] for r in read_runs(store)] == [2.0]
    with local_tracking("other", folder=shared) as store:
        assert len(read_runs(store)) == 1


def test_nested_tracking_restores_the_outer_store(shared: Path, tmp_path: Path) -> None:
    outer = start_tracking("outer", folder=shared)
    try:
        with local_tracking("inner", folder=tmp_path / "elsewhere") as inner:
            assert mlflow.get_tracking_uri() == inner.tracking_uri != outer.tracking_uri
            with mlflow.start_run():
                mlflow.log_param("where", "inner")
        assert mlflow.get_tracking_uri() == outer.tracking_uri
        with mlflow.start_run():  # lands in the outer experiment again
            mlflow.log_param("where", "outer")
        assert [r["params"]["where"] for r in read_runs(outer)] == ["outer"]
        assert [r["params"]["where"] for r in read_runs(inner)] == ["inner"]
    finally:
        stop_tracking(outer)
    assert not mlflow.is_tracking_uri_set()


def test_an_open_run_is_failed_and_the_error_propagates(shared: Path) -> None:
    with pytest.raises(ValueError, match="boom"), local_tracking("crash", folder=shared) as store:
        mlflow.start_run()
        mlflow.log_metric("m", 0.5)
        raise ValueError("boom")
    assert mlflow.active_run() is None
    (run,) = read_runs(store)
    assert run["status"] == "FAILED"
