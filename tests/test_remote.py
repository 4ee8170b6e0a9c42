"""The channel between the learner's kernel and the trusted test kernel (over a socketpair).

The learner's side here is as hostile as a submission can make it: objects whose ``__eq__``,
``__bool__`` and ``__float__`` lie, messages that are not what the protocol says. What
reaches the trusted side is plain data it rebuilt itself, or a handle it cannot be fooled by.
"""

from __future__ import annotations

import inspect
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autograder.grading import remote


class Liar(float):
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __float__(self):
        return 42.0

    __hash__ = float.__hash__


class Model:
    def __init__(self):
        self.weight = 2.0

    def predict(self, X):
        return np.asarray(X, dtype=float) * self.weight

    def __eq__(self, other):
        return True

    def __bool__(self):
        return True


def _chunks(n):
    for i in range(n):
        yield {"chunk": i, "rows": np.arange(i)}


@pytest.fixture
def trusted():
    """A learner side serving a namespace, and the trusted side talking to it."""
    learner_end, trusted_end = socket.socketpair()
    namespace = {
        "x": 1.5, "nan": float("nan"), "big": 10**30, "text": "é", "raw": b"\x00\x01",
        "nested": (1, {2: [3.0, None]}, {4}, frozenset({5})),
        "array": np.arange(6, dtype=np.int32).reshape(2, 3), "scalar": np.float32(0.25),
        "objects": np.array(["a", None], dtype=object),
        "frame": pd.DataFrame({"a": [1, 2], "c": pd.Categorical(["u", "v"]),
                               "n": pd.array([1, None], dtype="Int64"),
                               "t": pd.to_datetime(["2024-01-01", "2024-01-02"])},
                              index=pd.Index(["p", "q"], name="k")),
        "series": pd.Series([1.0, 2.0], name="s"), "when": pd.Timestamp("2024-01-01", tz="UTC"),
        "path": Path("runs/a.json"),
        "liar": Liar(1.0), "model": Model(), "chunks": _chunks,
        "boom": lambda: 1 / 0, "custom_error": _raise_custom,
        "call_twice": lambda f, x: [f(x), f(x)],
        "source_of": lambda f: inspect.getsource(f),
    }
    learner = remote.Learner(learner_end, namespace)
    threading.Thread(target=learner.serve_forever, daemon=True).start()
    side = remote.Trusted(trusted_end)
    yield side
    trusted_end.close()


class CustomError(ValueError):
    pass


def _raise_custom():
    raise CustomError("bad input")


@pytest.mark.parametrize("name", ["x", "big", "text", "raw", "nested", "path"])
def test_plain_values_arrive_as_equal_copies_of_their_exact_type(trusted, name):
    value = trusted.fetch(name)
    learner_value = {"x": 1.5, "big": 10**30, "text": "é", "raw": b"\x00\x01",
                     "nested": (1, {2: [3.0, None]}, {4}, frozenset({5})),
                     "path": Path("runs/a.json")}[name]
    assert value == learner_value and type(value) is type(learner_value)


def test_numpy_and_pandas_are_rebuilt_without_pickle(trusted):
    assert np.isnan(trusted.fetch("nan"))
    array = trusted.fetch("array")
    assert type(array) is np.ndarray and array.dtype == np.int32 and array.shape == (2, 3)
    assert type(trusted.fetch("scalar")) is np.float32
    assert trusted.fetch("objects").tolist() == ["a", None]
    frame = trusted.fetch("frame")
    pd.testing.assert_frame_equal(frame, pd.DataFrame(
        {"a": [1, 2], "c": pd.Categorical(["u", "v"]), "n": pd.array([1, None], dtype="Int64"),
         "t": pd.to_datetime(["2024-01-01", "2024-01-02"])}, index=pd.Index(["p", "q"], name="k")))
    pd.testing.assert_series_equal(trusted.fetch("series"), pd.Series([1.0, 2.0], name="s"))
    assert trusted.fetch("when") == pd.Timestamp("2024-01-01", tz="UTC")


def test_a_lying_float_subclass_stays_a_handle_that_never_equals_anything(trusted):
    liar = trusted.fetch("liar")
    assert type(liar) is remote.Remote
    assert (liar == 1.0) is False and (liar != 1.0) is True
    with pytest.raises(TypeError, match="cannot answer a trusted test"):
        bool(liar)
    assert float(liar) == 42.0  # a conversion is the learner's answer, as plain data


def test_objects_are_used_through_their_methods(trusted):
    model = trusted.fetch("model")
    assert repr(model).startswith("<learner's")
    prediction = model.predict([1, 2])
    assert type(prediction) is np.ndarray and prediction.tolist() == [2.0, 4.0]
    assert model.weight == 2.0
    assert isinstance(model, remote.Remote) and (model == model.predict) is False
    with pytest.raises(TypeError):
        model.weight = 3.0


def test_iteration_is_lazy_and_in_step(trusted):
    chunks = iter(trusted.fetch("chunks")(3))
    first = next(chunks)
    assert first["chunk"] == 0 and first["rows"].tolist() == []
    assert [c["chunk"] for c in chunks] == [1, 2]


def test_errors_arrive_as_the_nearest_builtin_exception(trusted):
    with pytest.raises(ZeroDivisionError):
        trusted.fetch("boom")()
    with pytest.raises(ValueError, match="bad input") as caught:
        trusted.fetch("custom_error")()
    assert "CustomError" in " ".join(caught.value.__notes__)
    with pytest.raises(NameError, match="nope"):
        trusted.fetch("nope")


def test_the_tests_own_functions_are_called_back_and_keep_their_source(trusted):
    calls = []

    def fake_clock(x):
        calls.append(x)
        return len(calls)

    fake_clock.__module__ = "__main__"  # as if defined in a test cell
    assert trusted.fetch("call_twice")(fake_clock, "t") == [1, 2]
    assert calls == ["t", "t"]  # the side effect happened here, in the trusted kernel
    assert trusted.fetch("source_of")(fake_clock) == inspect.getsource(fake_clock)


def test_refused_dtypes_and_unknown_tags_raise():
    rebuild = remote.Rebuild([b"\x00" * 8], None)
    with pytest.raises(ValueError, match="refused dtype"):
        rebuild({"$": "ndarray", "dtype": "O", "shape": [1], "i": 0})
    with pytest.raises(ValueError, match="unknown"):
        rebuild({"$": "pickle", "v": "gASV"})
    with pytest.raises(ValueError, match="malformed"):
        rebuild([1, 2])


def test_a_silent_learner_breaks_the_channel_in_words():
    learner_end, trusted_end = socket.socketpair()
    trusted_end.settimeout(0.2)
    side = remote.Trusted(trusted_end)
    with pytest.raises(remote.LearnerKernelGone, match="did not answer within 0.2 s"):
        side.fetch("x")
    with pytest.raises(remote.LearnerKernelGone):
        side.fetch("y")
    learner_end.close()
    trusted_end.close()


def test_a_hostile_header_cannot_smuggle_a_pickle(trusted):
    # the only way into the trusted side is Rebuild: a well-formed frame with a pickle-ish
    # payload is decoded as data or refused, never unpickled
    header = {"value": {"$": "bytes", "i": 0}, "buffers": [5]}
    assert trusted.decode_answer(json.loads(json.dumps(header)), b"cos\nx") == b"cos\nx"
