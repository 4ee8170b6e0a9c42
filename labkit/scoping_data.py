"""The parcel-digits proof of concept: a seeded train/dev/test split with an operator audit.

scikit-learn's bundled 8x8 handwritten digits stand in for the digits on parcel labels. The
dev and test images were also keyed in by the operator team (simulated in
:mod:`labkit.human_labels`), so the model can be compared with humans on the same items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labkit.human_labels import DEFAULT_OPERATORS, Operator, simulate_team


@dataclass(frozen=True)
class ParcelDigits:
    """Features (pixels scaled to [0, 1]), true digits, 8x8 images and operators' labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_dev: np.ndarray
    y_dev: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images_dev: np.ndarray
    images_test: np.ndarray
    operators_dev: dict[str, np.ndarray] = field(repr=False)
    operators_test: dict[str, np.ndarray] = field(repr=False)


def load_parcel_digits(
    seed: int = 0,
    *,
    dev_size: float = 0.2,
    test_size: float = 0.2,
    operators: Sequence[Operator] = DEFAULT_OPERATORS,
) -> ParcelDigits:
    """Stratified train/dev/test split of ``load_digits`` plus the operators' audit labels.

    Another ``seed`` gives another split and other operator mistakes (a seeded variant).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    y = digits.target
    idx = np.arange(len(y))
    idx_train, idx_rest = train_test_split(
        idx, test_size=dev_size + test_size, stratify=y, random_state=seed)
    idx_dev, idx_test = train_test_split(
        idx_rest, test_size=test_size / (dev_size + test_size), stratify=y[idx_rest],
        random_state=seed)
    return ParcelDigits(
        X_train=X[idx_train], y_train=y[idx_train],
        X_dev=X[idx_dev], y_dev=y[idx_dev],
        X_test=X[idx_test], y_test=y[idx_test],
        images_dev=digits.images[idx_dev], images_test=digits.images[idx_test],
        operators_dev=simulate_team(y[idx_dev], operators, seed=2 * seed),
        operators_test=simulate_team(y[idx_test], operators, seed=2 * seed + 1),
    )
