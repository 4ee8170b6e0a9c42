"""Packaging a postcode reader: signature, metadata, model card, ONNX export, and why not pickle.

The parcel-sorting company reads handwritten postcode digits (scikit-learn's bundled 8x8
``digits``, see `labkit.releases.load_postcode_digits`). Another team runs the reader on
its own machines, so the model leaves as a folder: ``model.onnx``, ``signature.json``,
``metadata.json`` and ``MODEL_CARD.md``. This module holds what a learner should not have to
write:

- `make_signature`: the input/output contract of a classifier as a JSON-ready dict;
- `export_onnx`: a scikit-learn classifier as ONNX bytes (float32 input named after the
  signature, outputs ``label`` and ``probabilities``); `onnx_summary` says what the file
  records (operators, opsets, producer) and what it does not (no Python class);
- `data_digest`, `library_versions`, `slice_accuracy`: the facts that go into metadata;
  `render_model_card`: the markdown card, generated from the metadata alone;
- `pickled_globals`, `relabel_sklearn_version`, `unpickle_in_fresh_process`: what a pickle
  records (class paths, library version) and how it breaks when a library moves;
- `PREDICT_SOURCE` / `write_predict_script`: the small script a clean process runs to load an
  artifact with onnxruntime alone and predict;
- `plot_scans`, `plot_slices`.

Every subprocess runs ``sys.executable`` with a timeout, in a temporary folder inside the
working folder that is removed afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import pickle
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ARTIFACT_FILES = ("MODEL_CARD.md", "metadata.json", "model.onnx", "signature.json")
LIBRARIES = ("numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime")

# The script a clean process runs: numpy, onnxruntime and the standard library only.
PREDICT_SOURCE = '''\
"""Predict with an artifact in a clean process.

Usage: python predict_artifact.py ARTIFACT_FOLDER INPUT.npy OUTPUT.npz
"""
import json
import os
import sys

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import numpy as np
import onnxruntime as ort

artifact, inputs, outputs = sys.argv[1:4]
with open(os.path.join(artifact, "signature.json")) as f:
    signature = json.load(f)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.log_severity_level = 3
session = ort.InferenceSession(os.path.join(artifact, "model.onnx"), options,
                               providers=["CPUExecutionProvider"])
X = np.load(inputs).astype(signature["input"]["dtype"])
label, probabilities = session.run(["label", "probabilities"], {signature["input"]["name"]: X})
np.savez(outputs, label=label, probabilities=probabilities, pid=os.getpid(),
         sklearn_imported="sklearn" in sys.modules)
'''

_UNPICKLE_SCRIPT = '''\
import importlib
import pickle
import sys

path, *moved = sys.argv[1:]


class Moved:
    """A module the new library version no longer has (it was renamed or moved)."""

    def find_spec(self, name, path=None, target=None):
        if name in moved:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


for name in moved:
    importlib.import_module(name.rpartition(".")[0])  # the public names still import fine
    sys.modules.pop(name, None)
sys.meta_path.insert(0, Moved())
with open(path, "rb") as f:
    model = pickle.load(f)
print(type(model).__module__ + "." + type(model).__qualname__)
'''


# ----------------------------------------------------------------- contract and facts


def make_signature(features: Sequence[str], *, input_name: str = "pixels",
                   dtype: str = "float32", low: float = 0.0, high: float = 1.0,
                   classes: Sequence[int] = tuple(range(10))) -> dict[str, Any]:
    """The input/output contract of a classifier, as plain JSON-ready data.

    ``input``: the tensor's name, dtype, shape ``[None, n_features]`` (``None``: any number of
    rows), the feature names in column order, and the valid range ``[min, max]`` of every
    value. ``output``: ``label`` (int64, one per row) and ``probabilities`` (float32, one
    column per class, in the order of ``classes``).
    """
    features = [str(f) for f in features]
    if len(set(features)) != len(features):
        raise ValueError("feature names must be unique")
    if not low < high:
        raise ValueError(f"low must be below high, got [{low}, {high}]")
    classes = [int(c) for c in classes]
    return {
        "input": {"name": input_name, "dtype": dtype, "shape": [None, len(features)],
                  "features": features, "min": float(low), "max": float(high)},
        "output": {"label": {"dtype": "int64", "shape": [None]},
                   "probabilities": {"dtype": "float32", "shape": [None, len(classes)]},
                   "classes": classes},
    }


def pixel_names(side: int = 8) -> list[str]:
    """``px_<row>_<col>`` for a ``side`` x ``side`` scan read row by row."""
    return [f"px_{r}_{c}" for r in range(side) for c in range(side)]


def export_onnx(model: Any, signature: Mapping[str, Any]) -> bytes:
    """A fitted scikit-learn classifier as ONNX bytes, with the signature's input name and width.

    Outputs are ``label`` and ``probabilities`` (a plain tensor, no ZipMap).
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    spec = signature["input"]
    if spec["dtype"] != "float32":
        raise ValueError(f"only float32 inputs are exported here, got {spec['dtype']}")
    width = len(spec["features"])
    onx = to_onnx(model, initial_types=[(spec["name"], FloatTensorType([None, width]))],
                  options={"zipmap": False})
    return onx.SerializeToString()


def onnx_summary(onnx_bytes: bytes) -> dict[str, Any]:
    """What an ONNX file records: producer, opsets, operator types, inputs and outputs."""
    import onnx

    model = onnx.load_model_from_string(onnx_bytes)

    def shape(value: Any) -> list[int | None]:
        dims = value.type.tensor_type.shape.dim
        return [d.dim_value if d.HasField("dim_value") else None for d in dims]

    return {
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "operators": sorted({node.op_type for node in model.graph.node}),
        "inputs": {v.name: shape(v) for v in model.graph.input},
        "outputs": {v.name: shape(v) for v in model.graph.output},
    }


def data_digest(*arrays: Any) -> str:
    """SHA-256 of arrays (dtype, shape and bytes of each): the training data's fingerprint."""
    digest = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(np.asarray(array))
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names`` (distribution names) and of Python itself."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def slice_accuracy(y_true: Any, y_pred: Any, slices: Any) -> dict[str, float]:
    """Accuracy per slice, ``{str(slice): float}``, slices in sorted order."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    slices = np.asarray(slices)
    if not len(y_true) == len(y_pred) == len(slices):
        raise ValueError("y_true, y_pred and slices must have the same length")
    return {str(s): float(np.mean(y_pred[slices == s] == y_true[slices == s]))
            for s in np.unique(slices)}


def _items(values: Any) -> list[str]:
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values or []]


def render_model_card(metadata: Mapping[str, Any]) -> str:
    """The model card (markdown), generated from the metadata alone.

    Sections: intended use, out of scope, training data, evaluation (overall and per slice,
    the worst slice named), limitations, input contract, owner, software and files. A key
    that is missing shows as "(not stated)", so a gap is visible in the card. Mappings are
    read in sorted key order: the card of a metadata dict and of its JSON round trip (with
    ``sort_keys``) are the same text.
    """
    def get(key: str) -> Any:
        return metadata.get(key, "(not stated)")

    lines = [f"# Model card: {get('name')} {metadata.get('version', '(no version)')}", ""]
    lines += ["## Intended use", "", str(get("intended_use")), ""]
    lines += ["## Out of scope", ""]
    lines += [f"- {item}" for item in _items(metadata.get("out_of_scope"))] or ["(not stated)"]
    data = metadata.get("training_data", {})
    lines += ["", "## Training data", "",
              f"- source: {data.get('source', '(not stated)')}",
              f"- rows: {data.get('rows', '(not stated)')}",
              f"- sha256: `{data.get('sha256', '(not stated)')}`", ""]
    metrics = metadata.get("metrics", {})
    lines += ["## Evaluation", ""]
    for key, value in sorted(metrics.items()):
        if key != "per_slice":
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"- {key}: {shown}")
    per_slice = dict(sorted(metrics.get("per_slice", {}).items()))
    if per_slice:
        worst = min(per_slice, key=per_slice.get)
        lines += ["", "| slice | accuracy |", "|---|---|"]
        lines += [f"| {name} | {value:.3f}{' (worst)' if name == worst else ''} |"
                  for name, value in per_slice.items()]
    else:
        lines.append("- per slice: (not stated)")
    lines += ["", "## Limitations", ""]
    lines += [f"- {item}" for item in _items(metadata.get("limitations"))] or ["(not stated)"]
    lines += ["", "## Input contract", "", str(get("input")), "",
              "## Owner", "", str(get("owner")), "", "## Software", ""]
    lines += [f"- {name} {version}"
              for name, version in sorted(metadata.get("libraries", {}).items())]
    onnx = metadata.get("onnx", {})
    if onnx:
        opsets = ", ".join(f"{domain} {v}" for domain, v in sorted(onnx.get("opsets", {}).items()))
        lines.append(f"- ONNX opsets: {opsets or '(not stated)'}; produced by "
                     f"{onnx.get('producer', '(not stated)')}")
    lines += ["", "## Files", ""]
    lines += [f"- `{name}` sha256 `{digest}`"
              for name, digest in sorted(metadata.get("files", {}).items())]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- pickles


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.found: list[str] = []

    def find_class(self, module: str, name: str) -> Any:
        self.found.append(f"{module}.{name}")
        return super().find_class(module, name)


def pickled_globals(blob: bytes) -> list[str]:
    """The classes and functions a pickle refers to by import path, in first-seen order.

    Loads the pickle to find them: use it only on pickles you wrote yourself.
    """
    recorder = _Recorder(blob)
    recorder.load()
    return list(dict.fromkeys(recorder.found))


def _same_length_older(version: str) -> str:
    return version[0] + re.sub(r"\d", "0", version[1:])


def relabel_sklearn_version(blob: bytes, version: str | None = None) -> bytes:
    """The same pickle, as if scikit-learn ``version`` had written it (default: an older one).

    scikit-learn stores its version in every estimator's state; the new label must have the
    same length as the installed version (the pickle's framing stays valid).
    """
    import sklearn

    current = sklearn.__version__
    version = _same_length_older(current) if version is None else version
    if len(version) != len(current):
        raise ValueError(f"version {version!r} must have as many characters as {current!r}")
    if current.encode() not in blob:
        raise ValueError(f"no scikit-learn {current} estimator in this pickle")
    return blob.replace(current.encode(), version.encode())


def _run_script(script: str, args: Sequence[str], *, folder: str | Path,
                timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], cwd=folder, timeout=timeout,
                          capture_output=True, text=True, check=False)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def unpickle_in_fresh_process(blob: bytes, *, moved: Sequence[str] = (), folder: str | Path = ".",
                              timeout: float = 60.0) -> dict[str, Any]:
    """Load a pickle in a new Python process where the modules ``moved`` no longer exist.

    Simulates a library upgrade that renamed private modules (the public names still
    import). Returns ``{"ok": bool, "loaded": str, "error": str}``: the loaded object's class
    path, or the last line of the error. The pickle lives in a temporary folder inside
    ``folder`` while the process runs.
    """
    with tempfile.TemporaryDirectory(dir=folder, prefix=".unpickle-") as tmp:
        path = Path(tmp) / "model.pkl"
        path.write_bytes(blob)
        done = _run_script(_UNPICKLE_SCRIPT, [str(path.resolve()), *moved], folder=folder,
                           timeout=timeout)
    ok = done.returncode == 0
    return {"ok": ok, "loaded": done.stdout.strip() if ok else "",
            "error": "" if ok else _last_line(done.stderr)}


def write_predict_script(folder: str | Path = ".", name: str = "predict_artifact.py") -> Path:
    """Write `PREDICT_SOURCE` into ``folder``; returns its path."""
    path = Path(folder) / name
    path.write_text(PREDICT_SOURCE)
    return path


# ----------------------------------------------------------------------- plots


def plot_scans(X: np.ndarray, titles: Sequence[str], *, axes: Sequence[Axes] | None = None,
               side: int = 8) -> Sequence[Axes]:
    """Scans (rows of ``side * side`` pixels in [0, 1]) as images, one per axis, titled."""
    import matplotlib.pyplot as plt

    X = np.asarray(X)
    if axes is None:
        _, axes = plt.subplots(1, len(X), figsize=(1.1 * len(X), 1.5))
    axes = list(np.atleast_1d(axes))
    for ax, row, title in zip(axes, X, titles, strict=False):
        ax.imshow(np.asarray(row).reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(str(title), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return axes


def plot_slices(per_slice: Mapping[str, float], *, ax: Axes | None = None,
                reference: float | None = None, title: str = "") -> Axes:
    """Horizontal bars of accuracy per slice; the worst one in red, ``reference`` as a line."""
    import matplotlib.pyplot as plt

    if not per_slice:
        raise ValueError("no slice to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.3 * len(per_slice) + 1))
    names = list(per_slice)
    values = [per_slice[n] for n in names]
    worst = int(np.argmin(values))
    colours = ["C3" if i == worst else "C0" for i in range(len(names))]
    ax.barh(range(len(names)), values, color=colours)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(min(0.5, min(values) - 0.05), 1.0)
    if reference is not None:
        ax.axvline(reference, color="gray", ls="--", lw=1)
    ax.set_xlabel("accuracy")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def scans_figure(X: np.ndarray, titles: Sequence[str], per_slice: Mapping[str, float], *,
                 reference: float | None = None, rows: int = 2) -> Figure:
    """One figure: scans on a grid of ``rows`` rows on the left, accuracy per slice on the right."""
    import matplotlib.pyplot as plt

    n = len(X)
    cols = -(-n // rows)
    fig = plt.figure(figsize=(11, 3.8))
    left, right = fig.subfigures(1, 2, width_ratios=[1.0, 1.2])
    axes = left.subplots(rows, cols)
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    plot_scans(X, titles, axes=np.ravel(axes)[:n])
    plot_slices(per_slice, ax=right.subplots(), reference=reference,
                title="hold-out accuracy per slice (worst in red)")
    return fig
