"""Seeded simulation of human operators keying in handwritten digits.

Operators rarely make random mistakes: they confuse digits that look alike (1/7, 3/8, 4/9,
5/6) and, now and then, slip on the keypad. Simulating both gives a realistic human-level
error to compare a model against, without any real labelling campaign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOOKALIKE_PAIRS: tuple[tuple[int, int], ...] = ((1, 7), (3, 8), (4, 9), (5, 6))
"""Digit pairs that operators confuse with each other."""


@dataclass(frozen=True)
class Operator:
    """One operator's habits: how often a look-alike digit is confused, how often a key slips."""

    name: str
    confusion_rate: float
    slip_rate: float = 0.0


DEFAULT_OPERATORS: tuple[Operator, ...] = (
    Operator("veteran", confusion_rate=0.005, slip_rate=0.001),
    Operator("regular", confusion_rate=0.030, slip_rate=0.005),
    Operator("newcomer", confusion_rate=0.060, slip_rate=0.010),
)
"""The audited team: a veteran, a regular operator and a newcomer."""


def check_fraction(name: str, rate: float) -> None:
    """Raise ValueError unless ``rate`` is a fraction in [0, 1]."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {rate}")


def simulate_operator_labels(
    y: Sequence[int] | np.ndarray,
    *,
    confusion_rate: float,
    slip_rate: float = 0.0,
    seed: int = 0,
    pairs: Sequence[tuple[int, int]] = LOOKALIKE_PAIRS,
    n_classes: int = 10,
) -> np.ndarray:
    """Labels one operator keys in for true digits ``y``.

    A digit that belongs to a look-alike pair is replaced by its partner with probability
    ``confusion_rate``; then any label is replaced by a different, uniformly drawn digit with
    probability ``slip_rate``. Same ``seed``, same labels.
    """
    check_fraction("confusion_rate", confusion_rate)
    check_fraction("slip_rate", slip_rate)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    partner = np.arange(n_classes)
    for a, b in pairs:
        partner[a], partner[b] = b, a
    out = y.copy()
    confused = (partner[y] != y) & (rng.random(y.shape) < confusion_rate)
    out[confused] = partner[y[confused]]
    slipped = rng.random(y.shape) < slip_rate
    # a shift of 1..n_classes-1 always lands on a different digit
    shift = rng.integers(1, n_classes, size=y.shape)
    out[slipped] = (out[slipped] + shift[slipped]) % n_classes
    return out.astype(y.dtype, copy=False)


def simulate_team(
    y: Sequence[int] | np.ndarray,
    operators: Sequence[Operator] = DEFAULT_OPERATORS,
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Labels each operator keys in for the same items, keyed by operator name.

    Every operator gets an independent random stream derived from ``seed``.
    """
    names = [op.name for op in operators]
    if len(set(names)) != len(names):
        raise ValueError(f"operator names must be unique, got {names}")
    streams = np.random.SeedSequence(seed).spawn(len(operators))
    return {
        op.name: simulate_operator_labels(
            y,
            confusion_rate=op.confusion_rate,
            slip_rate=op.slip_rate,
            seed=int(stream.generate_state(1)[0]),
        )
        for op, stream in zip(operators, streams, strict=True)
    }


def operator_errors(y_true: np.ndarray, team: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Error rate of each operator against the audited truth."""
    y_true = np.asarray(y_true)
    return {name: float(np.mean(np.asarray(labels) != y_true)) for name, labels in team.items()}


def plot_operator_mistakes(
    images: np.ndarray,
    y_true: np.ndarray,
    y_operator: np.ndarray,
    *,
    n: int = 8,
    title: str = "",
) -> Figure:
    """Show up to ``n`` images an operator mislabelled, captioned 'true -> keyed'."""
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_operator))[:n]
    fig, axes = plt.subplots(1, n, figsize=(1.4 * n, 1.9), squeeze=False)
    for ax, i in zip(axes[0], list(wrong) + [None] * (n - len(wrong)), strict=True):
        ax.set_axis_off()
        if i is not None:
            ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{y_true[i]} -> {y_operator[i]}", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
