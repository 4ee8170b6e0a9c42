"""Seeded, realistic label noise on the bundled digits, and tools to judge a label cleaner.

Training labels keyed in a hurry are wrong in a class-dependent way: most mistakes swap a
digit with its look-alike (1/7, 3/8, 4/9, 5/6), a few are keypad slips to any other digit.
:func:`inject_label_noise` plants exactly that and returns *which* labels it flipped, so a
label-error detector can be scored by precision and recall, and a cleaning strategy by the
test accuracy it buys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.human_labels import LOOKALIKE_PAIRS, check_fraction

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class NoisyLabels:
    """Labels after noise injection and the sorted indices of the labels that were changed."""

    y_noisy: np.ndarray
    flipped: np.ndarray


def inject_label_noise(
    y: Sequence[int] | np.ndarray,
    *,
    rate: float,
    seed: int = 0,
    lookalike_share: float = 0.8,
    pairs: Sequence[tuple[int, int]] = LOOKALIKE_PAIRS,
    n_classes: int = 10,
) -> NoisyLabels:
    """Change exactly ``round(rate * len(y))`` labels of ``y`` (class indices 0..n_classes-1).

    A share ``lookalike_share`` of the changed labels are digits of a look-alike pair replaced
    by their partner (so the noise depends on the class: 0 and 2 are almost never wrong); the
    rest are slips to a uniformly drawn *different* digit. Same ``seed``, same noise.
    """
    check_fraction("rate", rate)
    check_fraction("lookalike_share", lookalike_share)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    partner = np.arange(n_classes)
    for a, b in pairs:
        partner[a], partner[b] = b, a
    n_flip = round(rate * y.size)
    in_pair = np.flatnonzero(partner[y] != y)
    n_look = min(round(lookalike_share * n_flip), in_pair.size)
    look = rng.choice(in_pair, size=n_look, replace=False)
    others = np.setdiff1d(np.arange(y.size), look)
    slip = rng.choice(others, size=n_flip - n_look, replace=False)
    out = y.copy()
    out[look] = partner[y[look]]
    # a shift of 1..n_classes-1 always lands on a different digit
    out[slip] = (y[slip] + rng.integers(1, n_classes, size=slip.size)) % n_classes
    return NoisyLabels(y_noisy=out, flipped=np.sort(np.concatenate([look, slip])))


@dataclass(frozen=True)
class NoisyDigits:
    """A keyed (noisy) training set, a reserve of more keyed images, and an audited test set.

    ``y_train_true`` and ``y_extra_true`` come from a full audit that a real project would not
    have; they exist to measure detectors and to simulate a review desk (:meth:`review`).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_extra: np.ndarray
    y_extra: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images_train: np.ndarray = field(repr=False)
    flipped: np.ndarray = field(repr=False)
    y_train_true: np.ndarray = field(repr=False)
    y_extra_true: np.ndarray = field(repr=False)

    def review(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The digits a careful reviewer keys in for these training rows (the true ones)."""
        return self.y_train_true[np.asarray(indices, dtype=int)].copy()


def load_noisy_digits(
    seed: int = 0,
    *,
    rate: float = 0.12,
    n_train: int = 700,
    n_test: int = 450,
    lookalike_share: float = 0.8,
) -> NoisyDigits:
    """Stratified split of ``load_digits`` into train / extra / test, noise on train and extra.

    The test labels stay clean (an audited set); the training and the extra rows carry
    independent noise at the same ``rate``. Another ``seed`` gives another split and noise.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    y = digits.target
    idx = np.arange(y.size)
    idx_pool, idx_test = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    idx_train, idx_extra = train_test_split(
        idx_pool, train_size=n_train, stratify=y[idx_pool], random_state=seed)
    seed_train, seed_extra = (int(s.generate_state(1)[0])
                              for s in np.random.SeedSequence(seed).spawn(2))
    train = inject_label_noise(y[idx_train], rate=rate, seed=seed_train,
                               lookalike_share=lookalike_share)
    extra = inject_label_noise(y[idx_extra], rate=rate, seed=seed_extra,
                               lookalike_share=lookalike_share)
    return NoisyDigits(
        X_train=X[idx_train], y_train=train.y_noisy,
        X_extra=X[idx_extra], y_extra=extra.y_noisy,
        X_test=X[idx_test], y_test=y[idx_test],
        images_train=digits.images[idx_train], flipped=train.flipped,
        y_train_true=y[idx_train], y_extra_true=y[idx_extra],
    )


def detection_scores(found: Sequence[int] | np.ndarray,
                     flipped: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """Precision and recall of flagged indices against the truly flipped ones.

    Flagging nothing has precision 0.0 (nothing to trust); duplicates count once.
    """
    found_set = {int(i) for i in np.asarray(found).ravel()}
    flipped_set = {int(i) for i in np.asarray(flipped).ravel()}
    hits = len(found_set & flipped_set)
    precision = hits / len(found_set) if found_set else 0.0
    recall = hits / len(flipped_set) if flipped_set else 1.0
    return float(precision), float(recall)


def accuracy_vs_size(
    model: Any,
    X: np.ndarray,
    labelings: Mapping[str, np.ndarray],
    X_test: np.ndarray,
    y_test: np.ndarray,
    sizes: Sequence[int],
    *,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Mean test accuracy of ``model`` trained on random subsets of ``n`` rows, per labelling.

    Every labelling (e.g. noisy vs true labels of the same rows) is trained on the *same*
    seeded subsets, so the curves differ only by the labels.
    """
    from sklearn.base import clone

    rng = np.random.default_rng(seed)
    subsets = [[rng.permutation(len(X))[:n] for _ in range(repeats)] for n in sizes]
    return {
        name: np.array([
            np.mean([clone(model).fit(X[rows], np.asarray(y)[rows]).score(X_test, y_test)
                     for rows in per_size])
            for per_size in subsets
        ])
        for name, y in labelings.items()
    }


def plot_suspects(
    images: np.ndarray,
    given: np.ndarray,
    suggested: np.ndarray,
    *,
    truth: np.ndarray | None = None,
    n: int = 8,
    title: str = "",
) -> Figure:
    """Show the first ``n`` flagged images captioned 'given -> suggested'.

    ``images``, ``given``, ``suggested`` (and ``truth``) are aligned with the flagged rows. With
    ``truth``, real label errors are captioned in green and false alarms in red.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(1.4 * n, 2.0), squeeze=False)
    shown = min(n, len(given))
    for k, ax in enumerate(axes[0]):
        ax.set_axis_off()
        if k >= shown:
            continue
        ax.imshow(images[k], cmap="gray_r", interpolation="nearest")
        color = "black"
        if truth is not None:
            color = "tab:green" if truth[k] != given[k] else "tab:red"
        ax.set_title(f"{given[k]} -> {suggested[k]}", fontsize=10, color=color)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
