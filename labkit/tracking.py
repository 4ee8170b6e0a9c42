"""Local MLflow tracking for a notebook: a SQLite file, no server, nothing leaves the folder.

`start_tracking` points MLflow at ``<folder>/mlflow.db`` (runs, params, metrics) and
``<folder>/artifacts`` (files, if any), both inside the working folder, with telemetry off,
and makes ``experiment`` the active experiment, so that plain ``mlflow.start_run()`` calls
land there. `stop_tracking` ends a forgotten run, restores what was active before and closes
the database. `local_tracking` does both around a ``with`` block.

Import MLflow with `import_mlflow` (telemetry off before the first import). `read_runs` and
`metric_steps` read a store back as plain Python data through their own client, independently
of whatever MLflow state the notebook has changed since.

    mlflow = import_mlflow()
    with local_tracking("tuning", folder="mlruns", fresh=True) as store:
        with mlflow.start_run():
            mlflow.log_metric("accuracy", 0.9)
        runs = read_runs(store)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DB_NAME = "mlflow.db"
ARTIFACTS = "artifacts"
_QUIET_LOGGERS = ("mlflow", "alembic")


@dataclass(frozen=True)
class LocalStore:
    """Where a local MLflow store lives and which experiment it tracks."""

    folder: Path
    db_path: Path
    artifact_dir: Path
    tracking_uri: str
    experiment_name: str
    experiment_id: str
    # what was active before start_tracking, restored by stop_tracking
    _previous_uri: str | None = field(default=None, repr=False, compare=False)
    _previous_experiment_id: str | None = field(default=None, repr=False, compare=False)


def import_mlflow() -> Any:
    """Import and return ``mlflow`` with its telemetry off and its start-up chatter silenced.

    The environment variables must be set before MLflow's first import, which creates its
    telemetry client: call this instead of (or before) ``import mlflow``.
    """
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "1"  # what MLflow reads
    os.environ["DO_NOT_TRACK"] = "1"  # the cross-tool convention, for the libraries it loads
    import mlflow
    from mlflow.telemetry import set_telemetry_client

    set_telemetry_client()  # re-reads the variables: drops a client made by an earlier import
    for name in _QUIET_LOGGERS:  # e.g. "Creating initial MLflow database tables..."
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def _client(store: LocalStore) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.tracking_uri)


def start_tracking(experiment: str, folder: str | Path = "mlruns", *,
                   fresh: bool = False) -> LocalStore:
    """Use ``<folder>/mlflow.db`` as MLflow's backend and ``experiment`` as the active one.

    The folder is resolved against the current working folder and created if needed. With
    ``fresh=True`` the experiment's earlier runs are deleted (MLflow's soft delete), so that
    running a notebook twice does not count every run twice.
    """
    mlflow = import_mlflow()
    from mlflow.tracking import fluent

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / DB_NAME
    artifact_dir = folder / ARTIFACTS
    previous_uri = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    previous_experiment = fluent._active_experiment_id

    uri = f"sqlite:///{db_path.as_posix()}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        experiment_id = client.create_experiment(experiment,
                                                 artifact_location=artifact_dir.as_uri())
    else:
        experiment_id = found.experiment_id
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(experiment_id)
    if fresh:
        for run in client.search_runs([experiment_id], max_results=50_000):
            client.delete_run(run.info.run_id)

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=experiment_id)
    return LocalStore(folder=folder, db_path=db_path, artifact_dir=artifact_dir,
                      tracking_uri=uri, experiment_name=experiment,
                      experiment_id=experiment_id, _previous_uri=previous_uri,
                      _previous_experiment_id=previous_experiment)


def stop_tracking(store: LocalStore) -> None:
    """End a run left open (marked FAILED), restore the previous MLflow setup, close the DB."""
    mlflow = import_mlflow()
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service.utils import _get_store

    while mlflow.active_run() is not None:
        mlflow.end_run(status="FAILED")
    with suppress(Exception):  # releases the SQLite file; the store reconnects if reused
        _get_store(store.tracking_uri).engine.dispose()
    mlflow.set_tracking_uri(store._previous_uri)  # None: back to MLflow's default
    if store._previous_experiment_id is not None and store._previous_uri is not None:
        mlflow.set_experiment(experiment_id=store._previous_experiment_id)
    else:
        fluent._active_experiment_id = None
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@contextmanager
def local_tracking(experiment: str, folder: str | Path = "mlruns", *,
                   fresh: bool = False) -> Iterator[LocalStore]:
    """`start_tracking` for the duration of a ``with`` block, `stop_tracking` at its end."""
    store = start_tracking(experiment, folder, fresh=fresh)
    try:
        yield store
    finally:
        stop_tracking(store)


def read_runs(store: LocalStore) -> list[dict[str, Any]]:
    """The experiment's runs (not deleted ones), oldest first, as plain dicts.

    Each dict has ``run_id``, ``run_name``, ``status`` ("FINISHED", "FAILED", ...),
    ``params`` (str -> str: MLflow stores every param as a string) and ``metrics``
    (str -> float, the last value logged for each key).
    """
    runs = _client(store).search_runs([store.experiment_id], max_results=50_000,
                                      order_by=["attributes.start_time ASC"])
    return [{"run_id": run.info.run_id, "run_name": run.info.run_name,
             "status": run.info.status, "params": dict(run.data.params),
             "metrics": {k: float(v) for k, v in run.data.metrics.items()}}
            for run in runs]


def metric_steps(store: LocalStore, run_id: str, key: str) -> list[tuple[int, float]]:
    """Every value logged for metric ``key`` in a run, as (step, value) sorted by step."""
    history = _client(store).get_metric_history(run_id, key)
    return sorted((int(m.step), float(m.value)) for m in history)
