"""Safe releases of a postcode reader: a local model registry, seeded traffic and a canary.

The parcel-sorting company reads every handwritten postcode digit with a model (scikit-learn's
bundled 8x8 ``digits`` images stand in for the scans). A new model version goes through an
offline gate, a shadow run and a canary before it replaces the champion. This module holds
what a learner should not have to write:

- `load_postcode_digits`: a stratified train / hold-out split of the digits, pixels in [0, 1];
  `thin_out` drops most images of one digit (a data-pipeline bug, for a planted regression);
  `normalise_contrast` is a preprocessing step that makes a model indifferent to ink intensity;
- `open_registry` / `close_registry`: an MLflow model registry on a SQLite file and a local
  artifact folder inside the working folder (mlflow-skinny is enough: models are logged as
  plain files of our own, not through an MLflow model flavour); `register_model`,
  `load_model`, `aliases`, `version_tags` and `reset_model` on top of `MlflowClient`;
- `make_scan_traffic`: a day of logged scans from five sorting centres, where the centre
  with new scanners (`NEW_SCANNER_CENTRE`) writes paler images;
- seeded variants with planted answers for tests: `make_paired_predictions` (two models
  on one labelled set), `make_shadow_log` (exact disagreement counts per centre),
  `make_scans` (requests with parcel ids) and `simulate_canary` (error counts per minute of a
  canary with an incident at a known minute);
- `plot_shadow` and `plot_canary`.

Pickle note: `load_model` unpickles the file a version points at. That is only safe for
artifacts your own pipeline wrote into your own registry, as here.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from labkit.tracking import LocalStore

CHAMPION, CHALLENGER = "champion", "challenger"
CENTRES = ("Bordeaux", "Lille", "Lyon", "Nantes", "Strasbourg")
NEW_SCANNER_CENTRE = "Lille"
PALE_INK = 0.45  # the new scanners write ink at 45 % of the old intensity
_CENTRE_P = np.array([0.2, 0.2, 0.25, 0.15, 0.2])
_MODEL_FILE = "model.pkl"


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DigitSplit:
    """Scans (n, 64) with pixels in [0, 1] and their true digits, for training and hold-out."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_holdout: np.ndarray
    y_holdout: np.ndarray


def load_postcode_digits(seed: int = 0, holdout: float = 0.4) -> DigitSplit:
    """scikit-learn's 1797 digits, pixels scaled to [0, 1], split stratified by digit."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    X_train, X_holdout, y_train, y_holdout = train_test_split(
        X, digits.target, test_size=holdout, stratify=digits.target, random_state=seed)
    return DigitSplit(X_train, y_train, X_holdout, y_holdout)


def normalise_contrast(X: np.ndarray) -> np.ndarray:
    """Divide each scan by its brightest pixel, so that pale and dark ink look the same.

    A scikit-learn step: ``FunctionTransformer(normalise_contrast)`` (importable, so a
    pipeline using it can be pickled and loaded back).
    """
    X = np.asarray(X, dtype=float)
    peak = X.max(axis=1, keepdims=True)
    return X / np.where(peak > 0, peak, 1.0)


def thin_out(X: np.ndarray, y: np.ndarray, digit: int, keep: float, *,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Keep only a ``keep`` share of the images of ``digit`` (all others untouched)."""
    rng = np.random.default_rng(seed)
    mask = (y != digit) | (rng.random(len(y)) < keep)
    return X[mask], y[mask]


def make_scan_traffic(X: np.ndarray, y: np.ndarray, n: int = 3000, *, seed: int = 0,
                      pale_centre: str = NEW_SCANNER_CENTRE,
                      ink: float = PALE_INK) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``n`` logged scans: (log with request_id, parcel_id, centre; images; true digits).

    Images are drawn with replacement from ``X``; those of ``pale_centre`` are multiplied by
    ``ink`` (its new scanners write paler ink). The true digits are what the sorting centres
    confirm days later; a shadow run does not have them.
    """
    if pale_centre not in CENTRES:
        raise ValueError(f"unknown centre {pale_centre!r}, expected one of {CENTRES}")
    rng = np.random.default_rng(seed)
    rows = rng.integers(len(X), size=n)
    centre = np.array(CENTRES)[rng.choice(len(CENTRES), size=n, p=_CENTRE_P)]
    images = X[rows].copy()
    images[centre == pale_centre] *= ink
    log = pd.DataFrame({"request_id": [f"scan-{seed}-{i:06d}" for i in range(n)],
                        "parcel_id": [f"P{p:07d}" for p in rng.integers(10**7, size=n)],
                        "centre": centre})
    return log, images, np.asarray(y)[rows].copy()


def make_scans(n: int, *, seed: int = 0, scans_per_parcel: float = 2.5) -> list[dict[str, str]]:
    """``n`` scan requests ``{"request_id", "parcel_id", "centre"}``; parcels recur.

    A parcel is scanned at several hubs on its way, so each parcel id appears about
    ``scans_per_parcel`` times, always with the same centre of origin.
    """
    rng = np.random.default_rng(seed)
    n_parcels = max(1, round(n / scans_per_parcel))
    parcel_numbers = rng.choice(10**7, size=n_parcels, replace=False)
    parcel_centre = np.array(CENTRES)[rng.choice(len(CENTRES), size=n_parcels, p=_CENTRE_P)]
    which = rng.integers(n_parcels, size=n)
    return [{"request_id": f"scan-{seed}-{i:06d}", "parcel_id": f"P{parcel_numbers[k]:07d}",
             "centre": str(parcel_centre[k])} for i, k in enumerate(which.tolist())]


# ---------------------------------------------------------------------- registry


@dataclass(frozen=True)
class LocalRegistry:
    """An MLflow client whose tracking and registry stores are one SQLite file in a folder."""

    client: Any  # mlflow.MlflowClient
    store: LocalStore


def open_registry(folder: str | Path = "registry", *,
                  experiment: str = "postcode-reader") -> LocalRegistry:
    """A fresh registry in ``<folder>/<new id>/`` (mlflow.db + artifacts), telemetry off.

    The folder is emptied first, so running a notebook twice starts again from version 1;
    each call uses a new sub-folder, so a database MLflow still holds open is never reused.
    """
    from labkit.tracking import import_mlflow, start_tracking

    mlflow = import_mlflow()
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    store = start_tracking(experiment, folder / uuid.uuid4().hex[:8])
    client = mlflow.MlflowClient(tracking_uri=store.tracking_uri,
                                 registry_uri=store.tracking_uri)
    return LocalRegistry(client=client, store=store)


def close_registry(registry: LocalRegistry) -> None:
    """Release the SQLite file and restore MLflow's previous tracking setup."""
    from labkit.tracking import stop_tracking

    stop_tracking(registry.store)
    with suppress(Exception):
        from mlflow.tracking._model_registry.utils import _get_store

        _get_store(registry.store.tracking_uri).engine.dispose()


def reset_model(registry: LocalRegistry, name: str) -> None:
    """Delete the registered model ``name`` with all its versions, if it exists."""
    from mlflow.exceptions import MlflowException

    with suppress(MlflowException):
        registry.client.delete_registered_model(name)


def register_model(registry: LocalRegistry, name: str, model: Any, *,
                   metrics: Mapping[str, float] | None = None,
                   params: Mapping[str, Any] | None = None, description: str = "") -> str:
    """Log ``model`` as a file in a new run and register it as the next version of ``name``.

    The run records ``params`` and ``metrics``; the model is pickled into the run's
    artifacts (``model/model.pkl``) and the new version points at that folder. Returns the
    version number as a string ("1", "2", ...).
    """
    from mlflow.exceptions import MlflowException

    client = registry.client
    run = client.create_run(registry.store.experiment_id, run_name=f"{name}-candidate")
    run_id = run.info.run_id
    try:
        for key, value in (params or {}).items():
            client.log_param(run_id, key, value)
        for key, value in (metrics or {}).items():
            client.log_metric(run_id, key, float(value))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / _MODEL_FILE
            path.write_bytes(pickle.dumps(model))
            client.log_artifact(run_id, str(path), artifact_path="model")
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    with suppress(MlflowException):  # already registered: just add a version
        client.create_registered_model(name)
    version = client.create_model_version(name, source=f"{run.info.artifact_uri}/model",
                                          run_id=run_id, description=description or None)
    return str(version.version)


def load_model(registry: LocalRegistry, name: str, alias: str) -> Any:
    """The model the alias ``alias`` of ``name`` points at, read back from the artifact store."""
    from mlflow.artifacts import download_artifacts

    version = registry.client.get_model_version_by_alias(name, alias)
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(artifact_uri=version.source, dst_path=tmp)
        return pickle.loads((Path(local) / _MODEL_FILE).read_bytes())


def aliases(registry: LocalRegistry, name: str) -> dict[str, str]:
    """The registered model's aliases as ``{alias: version}``, versions as strings."""
    found = registry.client.get_registered_model(name).aliases
    return {str(alias): str(version) for alias, version in found.items()}


def version_tags(registry: LocalRegistry, name: str, version: str) -> dict[str, str]:
    """The tags of one model version, as ``{key: value}``."""
    return dict(registry.client.get_model_version(name, str(version)).tags)


# ------------------------------------------------------------- seeded variants


def _other_label(rng: np.random.Generator, y: np.ndarray, n_classes: int) -> np.ndarray:
    return (y + rng.integers(1, n_classes, size=len(y))) % n_classes


def make_paired_predictions(n_per_slice: int, *, seed: int = 0,
                            slices: Sequence[str] = ("north", "south", "east", "west"),
                            champion_accuracy: float = 0.9, gain: float = 0.02,
                            slice_gain: Mapping[str, float] | None = None,
                            n_classes: int = 10) -> pd.DataFrame:
    """Two models' predictions on one labelled set, with a planted accuracy gain per slice.

    Columns ``y_true``, ``champion``, ``challenger`` (ints) and ``slice`` (str). In every
    slice the champion is right with probability ``champion_accuracy`` and the challenger's
    accuracy is higher by ``gain`` (or by ``slice_gain[slice]`` where given, possibly
    negative), on the same rows: the two models' errors are paired, as for real models.
    """
    slice_gain = dict(slice_gain or {})
    unknown = set(slice_gain) - set(slices)
    if unknown:
        raise ValueError(f"slice_gain names unknown slices: {sorted(unknown)}")
    rng = np.random.default_rng(seed)
    a = champion_accuracy
    frames = []
    for name in slices:
        g = slice_gain.get(name, gain)
        if g >= 0:  # the challenger fixes a share r of the champion's errors, breaks q of its hits
            q = 0.01
            r = (g + a * q) / (1 - a)
        else:
            r = 0.05
            q = ((1 - a) * r - g) / a
        if not (0 <= q <= 1 and 0 <= r <= 1):
            raise ValueError(f"gain {g} is impossible with champion accuracy {a}")
        y = rng.integers(n_classes, size=n_per_slice)
        champion_ok = rng.random(n_per_slice) < a
        flip = rng.random(n_per_slice)
        challenger_ok = np.where(champion_ok, flip >= q, flip < r)
        champion = np.where(champion_ok, y, _other_label(rng, y, n_classes))
        challenger = np.where(challenger_ok, y, _other_label(rng, y, n_classes))
        frames.append(pd.DataFrame({"y_true": y, "champion": champion,
                                    "challenger": challenger, "slice": name}))
    out = pd.concat(frames, ignore_index=True)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def make_shadow_log(counts: Mapping[str, tuple[int, int]], *, seed: int = 0,
                    flips: Mapping[str, tuple[int, int]] | None = None,
                    flip_share: float = 0.6, n_classes: int = 10) -> pd.DataFrame:
    """A shadow log with exact counts: ``counts[centre] = (requests, disagreements)``.

    Columns ``request_id``, ``centre``, ``champion``, ``challenger`` (ints), rows shuffled.
    Where ``flips[centre] = (a, b)`` is given, ``flip_share`` of that centre's disagreements
    (rounded up) are the champion answering ``a`` and the challenger ``b``; the other
    disagreements are spread over random pairs.
    """
    flips = dict(flips or {})
    rng = np.random.default_rng(seed)
    frames = []
    for centre, (n, d) in counts.items():
        if not 0 <= d <= n:
            raise ValueError(f"{centre}: need 0 <= disagreements <= requests, got {(n, d)}")
        champion = rng.integers(n_classes, size=n)
        challenger = champion.copy()
        challenger[:d] = _other_label(rng, champion[:d], n_classes)
        if centre in flips:
            k = min(d, int(np.ceil(flip_share * d)))
            champion[:k], challenger[:k] = flips[centre]
        frames.append(pd.DataFrame({"centre": centre, "champion": champion,
                                    "challenger": challenger}))
    out = pd.concat(frames, ignore_index=True)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    out.insert(0, "request_id", [f"shadow-{seed}-{i:06d}" for i in range(len(out))])
    return out


def simulate_canary(router: Callable[[dict], str], *, seed: int = 0, minutes: int = 60,
                    scans_per_minute: int = 400, control_error: float = 0.02,
                    canary_error: float = 0.012, incident_centre: str = NEW_SCANNER_CENTRE,
                    incident_minute: int | None = 30,
                    incident_error: float = 0.25) -> pd.DataFrame:
    """Error counts per minute of a canary release, routed by ``router(request)``.

    ``router`` returns ``"canary"`` or ``"control"`` for each scan request (see `make_scans`).
    An error is a scan the sorter had to send to manual keying (misread, bounced by the
    address check, or a failed call). Control errs with ``control_error``, the canary with
    ``canary_error``, except on scans from ``incident_centre`` once its shift starts at
    ``incident_minute`` (before, that centre sends nothing): there the canary errs with
    ``incident_error``. ``incident_minute=None``: a healthy canary, no incident.

    Returns one row per minute: ``minute``, ``control_requests``, ``control_errors``,
    ``canary_requests``, ``canary_errors`` (ints).
    """
    rng = np.random.default_rng(seed)
    scans = make_scans(minutes * scans_per_minute * 2, seed=seed)
    normal = [s for s in scans if s["centre"] != incident_centre]
    late = [s for s in scans if s["centre"] == incident_centre]
    share = _CENTRE_P[CENTRES.index(incident_centre)]
    rows, i_normal, i_late = [], 0, 0
    for minute in range(minutes):
        shift_on = incident_minute is not None and minute >= incident_minute
        n_late = int(rng.binomial(scans_per_minute, share)) if shift_on else 0
        batch = normal[i_normal:i_normal + scans_per_minute - n_late] + late[i_late:i_late + n_late]
        i_normal += scans_per_minute - n_late
        i_late += n_late
        counts = {"control_requests": 0, "control_errors": 0,
                  "canary_requests": 0, "canary_errors": 0}
        arms = [router(scan) for scan in batch]
        draws = rng.random(len(batch))
        for scan, arm, u in zip(batch, arms, draws, strict=True):
            if arm not in ("canary", "control"):
                raise ValueError(f"router answered {arm!r}, expected 'canary' or 'control'")
            if arm == "control":
                p = control_error
            elif shift_on and scan["centre"] == incident_centre:
                p = incident_error
            else:
                p = canary_error
            counts[f"{arm}_requests"] += 1
            counts[f"{arm}_errors"] += int(u < p)
        rows.append({"minute": minute, **counts})
    return pd.DataFrame(rows)


def watch_canary(timeline: pd.DataFrame, decide: Callable[..., dict], *,
                 window: int = 10) -> pd.DataFrame:
    """Apply ``decide`` every minute to the error counts of the last ``window`` minutes.

    ``decide(canary_errors, canary_requests, control_errors, control_requests)`` gets plain
    ints and returns a dict with ``rollback``, ``z`` and ``p_value`` (see the notebook's
    ``rollback_decision``). Returns one row per minute: the windowed counts and the decision.
    The first minute with ``rollback`` True is when the monitor pulls the canary.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 minute, got {window}")
    counts = ["canary_errors", "canary_requests", "control_errors", "control_requests"]
    rolled = timeline.set_index("minute")[counts].rolling(window, min_periods=1).sum()
    rows = []
    for minute, row in rolled.iterrows():
        args = [int(row[c]) for c in counts]
        decision = decide(*args)
        rows.append({"minute": int(minute), **dict(zip(counts, args, strict=True)),
                     "z": float(decision["z"]), "p_value": float(decision["p_value"]),
                     "rollback": bool(decision["rollback"])})
    return pd.DataFrame(rows)


def first_rollback(watch: pd.DataFrame) -> int | None:
    """The first minute a `watch_canary` table says roll back, or None."""
    hits = watch.loc[watch["rollback"], "minute"]
    return int(hits.iloc[0]) if len(hits) else None


# ------------------------------------------------------------------------ plots


def plot_shadow(report: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bars of the disagreement rate per centre (a `shadow_report` table, index = centre)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
    table = report.sort_index()
    bars = ax.bar(table.index.astype(str), table["rate"].to_numpy(float), color="C0")
    labels = [f"{r:.1%}\n{f}" if f else f"{r:.1%}" for r, f in
              zip(table["rate"], table["top_flip"], strict=True)]
    ax.bar_label(bars, labels=labels, fontsize=8)
    ax.set_ylim(0, max(0.05, 1.35 * float(table["rate"].max())))
    ax.set_ylabel("disagreement rate")
    ax.set_title("shadow run, per centre: scans where the two versions disagree\n"
                 "(label: rate and most frequent flip champion->challenger)", fontsize=10)
    return ax


def plot_canary(timeline: pd.DataFrame, *, watch: pd.DataFrame | None = None,
                alpha: float | None = None, incident_minute: int | None = None,
                window: int = 10) -> np.ndarray:
    """Error rate per arm over a sliding window; with a `watch_canary` table, its p-values too.

    The canary's line stops at the first rollback (its traffic goes back to control). Returns
    the axes: one panel, or two when ``watch`` is given.
    """
    import matplotlib.pyplot as plt

    rows = 1 if watch is None else 2
    _, axes = plt.subplots(rows, 1, figsize=(7.5, 2.6 * rows + 0.6), sharex=True,
                           squeeze=False, layout="constrained")
    axes = axes[:, 0]
    rollback = None if watch is None else first_rollback(watch)
    rolled = timeline.set_index("minute").rolling(window, min_periods=1).sum()
    ax = axes[0]
    for k, arm in enumerate(("control", "canary")):
        rate = rolled[f"{arm}_errors"] / rolled[f"{arm}_requests"].clip(lower=1)
        if arm == "canary" and rollback is not None:
            rate = rate[rate.index <= rollback]
        ax.plot(rate.index, rate.to_numpy(float), color=f"C{k}", label=f"{arm}")
    ax.set_ylabel(f"error rate\n(last {window} min)")
    ax.set_ylim(bottom=0)
    ax.set_title("canary vs control", fontsize=10)
    if watch is not None:
        ax = axes[1]
        ax.semilogy(watch["minute"], watch["p_value"].clip(lower=1e-12), color="C2",
                    label="p-value (canary worse?)")
        if alpha is not None:
            ax.axhline(alpha, color="0.3", lw=0.8, label=f"alpha = {alpha}")
        ax.set_ylabel("one-sided p-value")
        if rollback is not None:
            ax.set_xlim(right=max(float(timeline["minute"].max()), rollback + 1))
    for ax in axes:
        if incident_minute is not None:
            ax.axvline(incident_minute, color="0.5", ls=":", label="new scanners start")
        if rollback is not None:
            ax.axvline(rollback, color="C3", ls="--", label=f"rollback (minute {rollback})")
        ax.legend(fontsize=8, loc="lower left" if ax is axes[-1] and rows == 2 else "upper left")
    axes[-1].set_xlabel("minute since the canary started")
    return axes
