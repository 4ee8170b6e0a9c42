"""A parcel price-quote model to test behaviourally, its planted bugs, and a tiny test runner.

:func:`make_quote_model` trains a small log-linear model on seeded past quotes (another seed
is another retrain: prices move by a few percent). :func:`make_buggy_model` plants one
realistic bug of a given kind into the model of the same seed: seed 0 is the obvious variant
shown to learners, other seeds draw a mechanism and its size from the seed. Every model,
sound or buggy, is a :class:`QuoteModel` with the same ``predict(records)`` interface.
:func:`run_tests` runs pytest-style test functions ``test_x(model)`` and returns plain data.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

SERVICES = ("standard", "express")
WEIGHT_RANGE_KG = (0.1, 30.0)
DISTANCE_RANGE_KM = (1.0, 1000.0)
INSURANCE_RATE = 0.01  # contract rule: 1% of the declared value, not learned
BUG_KINDS = ("name_leak", "direction", "minimum_functionality", "missing_field")
# seed 0 of each kind: the variant shown in the notebook
VISIBLE_MECHANISM = {
    "name_leak": "name_factor",
    "direction": "distance_ignored",
    "minimum_functionality": "weight_in_grams",
    "missing_field": "key_error",
}
# seeds >= 1: mechanism HIDDEN_MECHANISMS[kind][seed % len(...)], size drawn from the seed
HIDDEN_MECHANISMS = {
    "name_leak": ("name_factor", "name_offset", "parcel_id_factor"),
    "direction": ("distance_cap", "distance_flip", "weight_cap", "weight_flip"),
    "minimum_functionality": ("express_dropped", "heavy_fallback", "short_trip_nan"),
    "missing_field": ("none_crash", "impute_mean", "nan_propagates"),
}
# what each mechanism does, in words (for test messages and feedback)
DESCRIPTIONS = {
    "name_factor": "the price is scaled by a few percent depending on the customer's name",
    "name_offset": "a few cents are added or taken off depending on the customer's name",
    "parcel_id_factor": "the price is scaled by a few percent depending on the parcel id",
    "distance_ignored": "the price does not depend on the distance at all",
    "distance_cap": "the price stops growing beyond some distance (a clipped feature)",
    "distance_flip": "the price falls with distance beyond some distance (flipped direction)",
    "weight_cap": "the price stops growing beyond some weight (a clipped feature)",
    "weight_flip": "the price falls with weight beyond some weight (flipped direction)",
    "weight_in_grams": "the weight is read in grams instead of kilograms (a unit change)",
    "express_dropped": "express is priced like standard (the surcharge was dropped)",
    "heavy_fallback": "heavy parcels get a hard-coded fallback price",
    "short_trip_nan": "short trips get a NaN price (no route for them)",
    "key_error": "a parcel without insured_value crashes the model (KeyError)",
    "none_crash": "insured_value=None crashes the model (TypeError)",
    "impute_mean": "a missing insured_value is imputed with the mean: insurance is charged",
    "nan_propagates": "insured_value=NaN gives a NaN price",
}
FALLBACK_PRICE = 3.90  # what the heavy_fallback bug returns out of its training range

# True tariff behind the past quotes: log price = c . (1, log w, log1p d, express)
_TRUE_COEF = np.array([math.log(3.8), 0.42, 0.22, math.log(1.55)])

# Published tariff bands (euros): every sound retrain prices these within the band.
TARIFF_SHEET: tuple[dict[str, Any], ...] = (
    {"case": "everyday parcel: 1 kg, 10 km",
     "parcel": {"weight_kg": 1.0, "distance_km": 10.0, "service": "standard"},
     "min_eur": 5.0, "max_eur": 8.0},
    {"case": "same parcel, express",
     "parcel": {"weight_kg": 1.0, "distance_km": 10.0, "service": "express"},
     "min_eur": 8.5, "max_eur": 12.0},
    {"case": "letter-size, same city: 0.2 kg, 2 km",
     "parcel": {"weight_kg": 0.2, "distance_km": 2.0, "service": "standard"},
     "min_eur": 1.9, "max_eur": 3.1},
    {"case": "regional: 5 kg, 300 km",
     "parcel": {"weight_kg": 5.0, "distance_km": 300.0, "service": "standard"},
     "min_eur": 21.0, "max_eur": 32.0},
    {"case": "insured: 2 kg, 50 km, declared value 500 EUR",
     "parcel": {"weight_kg": 2.0, "distance_km": 50.0, "service": "standard",
                "insured_value": 500.0},
     "min_eur": 14.5, "max_eur": 20.0},
    {"case": "heaviest, farthest: 30 kg, 900 km",
     "parcel": {"weight_kg": 30.0, "distance_km": 900.0, "service": "standard"},
     "min_eur": 55.0, "max_eur": 90.0},
    {"case": "heaviest, farthest, express",
     "parcel": {"weight_kg": 30.0, "distance_km": 900.0, "service": "express"},
     "min_eur": 88.0, "max_eur": 135.0},
)


def _unit_hash(text: str, salt: int) -> float:
    """A stable pseudo-random number in [0, 1) for a string (not Python's salted hash)."""
    return zlib.crc32(f"{salt}:{text}".encode()) / 2**32


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True, repr=False)
class QuoteModel:
    """Delivery price in euros for parcels: ``predict(records) -> 1-D float array``.

    A record needs ``weight_kg``, ``distance_km`` and ``service`` (``"standard"`` or
    ``"express"``); ``insured_value`` is optional (absent, None or NaN means 0); any other
    field (``customer_name``, ``parcel_id``...) is ignored by a sound model.
    """

    coef: tuple[float, float, float, float]
    seed: int
    _defect: str = field(default="", compare=False)
    _size: float = field(default=0.0, compare=False)
    _size2: float = field(default=0.0, compare=False)

    def __repr__(self) -> str:
        return f"QuoteModel(retrain={self.seed})"

    def predict(self, records: Sequence[Mapping[str, Any]] | pd.DataFrame) -> np.ndarray:
        """One price (euros, float) per record; a list of dicts or a DataFrame."""
        if hasattr(records, "to_dict"):
            records = records.to_dict("records")
        if isinstance(records, Mapping | str):
            raise TypeError("predict takes a list of records (dicts) or a DataFrame, "
                            "not a single record: wrap it in [...]")
        return np.array([self._price(r) for r in records], dtype=float)

    # ------------------------------------------------------------------ one record
    def _insured(self, r: Mapping[str, Any]) -> float:
        d = self._defect
        # key_error: the optional field became required by accident
        value = r["insured_value"] if d == "key_error" else r.get("insured_value", 0.0)
        if d == "none_crash":  # float(None) raises; absent and NaN are handled
            return 0.0 if isinstance(value, float) and math.isnan(value) else float(value)
        if d == "impute_mean" and _missing(value):
            return self._size  # imputed with the training mean of declared values
        if d == "nan_propagates" and isinstance(value, float) and math.isnan(value):
            return value
        return 0.0 if _missing(value) else float(value)

    def _price(self, r: Mapping[str, Any]) -> float:
        d, a, b = self._defect, self._size, self._size2
        w = float(r["weight_kg"])
        km = float(r["distance_km"])
        service = r["service"]
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; expected one of {SERVICES}")
        if w <= 0 or km < 0:
            raise ValueError(f"weight must be > 0 and distance >= 0, got {w} kg, {km} km")
        if d == "short_trip_nan" and km < a:
            return math.nan  # the routing service returns no route for short trips
        if d == "heavy_fallback" and w > a:
            return FALLBACK_PRICE  # out of the training range: a hard-coded fallback
        express = service == "express" and d != "express_dropped"
        if d == "weight_in_grams":
            w = w / 1000.0
        elif d == "weight_cap":
            w = min(w, a)
        elif d == "weight_flip" and w > a:
            w = a * (a / w) ** b
        if d == "distance_cap":
            km = min(km, a)
        elif d == "distance_flip" and km > a:
            km = a * (a / km) ** b
        c0, c1, c2, c3 = self.coef
        log_price = c0 + c1 * math.log(w) + c3 * express
        if d != "distance_ignored":
            log_price += c2 * math.log1p(km)
        price = math.exp(log_price)
        if d == "name_factor":
            price *= 1.0 + a * (2 * _unit_hash(str(r.get("customer_name", "")), self.seed) - 1)
        elif d == "name_offset":
            price += a * (2 * _unit_hash(str(r.get("customer_name", "")), self.seed) - 1)
        elif d == "parcel_id_factor":
            price *= 1.0 + a * (2 * _unit_hash(str(r.get("parcel_id", "")), self.seed) - 1)
        return price + INSURANCE_RATE * self._insured(r)


# ---------------------------------------------------------------------- factories
def past_quotes(n: int = 1500, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded history of quotes (no insurance): weight_kg, distance_km, express, price."""
    rng = np.random.default_rng(seed)
    coef = _TRUE_COEF * (1 + rng.normal(0.0, 0.02, size=4))  # each quarter's tariff moves
    weight = np.clip(rng.lognormal(math.log(1.5), 1.0, size=n), *WEIGHT_RANGE_KG)
    distance = np.exp(rng.uniform(0.0, math.log(DISTANCE_RANGE_KM[1]), size=n))
    express = (rng.random(n) < 0.25).astype(float)
    X = np.column_stack([np.ones(n), np.log(weight), np.log1p(distance), express])
    price = np.exp(X @ coef + rng.normal(0.0, 0.05, size=n))
    return {"weight_kg": weight, "distance_km": distance, "express": express, "price": price}


def make_quote_model(seed: int = 0) -> QuoteModel:
    """The sound model: a least-squares fit of log price on seeded past quotes."""
    q = past_quotes(seed=seed)
    X = np.column_stack([np.ones(len(q["price"])), np.log(q["weight_kg"]),
                         np.log1p(q["distance_km"]), q["express"]])
    coef, *_ = np.linalg.lstsq(X, np.log(q["price"]), rcond=None)
    return QuoteModel(coef=tuple(float(c) for c in coef), seed=seed)


def _mechanism_and_sizes(kind: str, seed: int) -> tuple[str, float, float]:
    if seed == 0:  # obvious on purpose: a 25% name effect, the others need no size
        mech = VISIBLE_MECHANISM[kind]
        return mech, 0.25 if mech == "name_factor" else 0.0, 0.0
    mechs = HIDDEN_MECHANISMS[kind]
    mech = mechs[seed % len(mechs)]
    rng = np.random.default_rng([seed, 17])
    sizes = {
        "name_factor": (0.02, 0.05), "name_offset": (0.05, 0.30),
        "parcel_id_factor": (0.02, 0.05),
        "distance_cap": (150.0, 500.0), "distance_flip": (300.0, 700.0),
        "weight_cap": (5.0, 20.0), "weight_flip": (8.0, 20.0),
        "express_dropped": (0.0, 0.0), "heavy_fallback": (20.0, 28.0),
        "short_trip_nan": (3.0, 8.0),
        "none_crash": (0.0, 0.0), "impute_mean": (150.0, 400.0), "nan_propagates": (0.0, 0.0),
    }[mech]
    return mech, float(rng.uniform(*sizes)), float(rng.uniform(0.2, 0.6))


def make_buggy_model(kind: str, seed: int = 0) -> QuoteModel:
    """The sound model of ``seed`` with one planted bug of ``kind`` (see ``BUG_KINDS``).

    Seed 0 is the obvious variant (``VISIBLE_MECHANISM``); other seeds pick a mechanism of
    ``HIDDEN_MECHANISMS[kind]`` and its size (a cap, a threshold, an amplitude) from the seed.
    """
    if kind not in BUG_KINDS:
        raise ValueError(f"unknown bug kind {kind!r}; choose from {BUG_KINDS}")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    mech, size, size2 = _mechanism_and_sizes(kind, seed)
    sound = make_quote_model(seed)
    return QuoteModel(coef=sound.coef, seed=seed, _defect=mech, _size=size, _size2=size2)


# ---------------------------------------------------------------------- the runner
def run_tests(tests: Sequence[Callable[[QuoteModel], object]], model: QuoteModel
              ) -> dict[str, dict[str, str]]:
    """Run each ``test_x(model)``: ``{name: {"outcome": ..., "message": ...}}``.

    The outcome is ``"passed"`` (returned), ``"failed"`` (AssertionError) or ``"error"`` (any
    other exception, e.g. the model crashed or the test is not written yet).
    """
    results: dict[str, dict[str, str]] = {}
    for test in tests:
        name = getattr(test, "__name__", repr(test))
        try:
            test(model)
        except AssertionError as exc:
            results[name] = {"outcome": "failed", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a crash is a result, not a runner failure
            results[name] = {"outcome": "error", "message": f"{type(exc).__name__}: {exc}"}
        else:
            results[name] = {"outcome": "passed", "message": ""}
    return results


def passes(test: Callable[[QuoteModel], object], model: QuoteModel) -> bool:
    """True if ``test(model)`` returns without raising."""
    return next(iter(run_tests([test], model).values()))["outcome"] == "passed"


def audit(test: Callable[[QuoteModel], object], kind: str, seeds: Sequence[int]
          ) -> list[dict[str, Any]]:
    """For each seed: the outcome of ``test`` on the sound retrain and on its buggy twin.

    A test earns credit on a seed only if it passes on the sound model and not on the buggy
    one (a test that crashes everywhere catches nothing).
    """
    rows = []
    for seed in seeds:
        buggy = make_buggy_model(kind, seed)
        on_sound = run_tests([test], make_quote_model(seed))
        on_buggy = run_tests([test], buggy)
        sound, bug = next(iter(on_sound.values())), next(iter(on_buggy.values()))
        rows.append({"seed": seed, "mechanism": buggy._defect,
                     "description": DESCRIPTIONS[buggy._defect],
                     "sound": sound["outcome"], "sound_message": sound["message"],
                     "buggy": bug["outcome"], "buggy_message": bug["message"],
                     "credit": sound["outcome"] == "passed" and bug["outcome"] != "passed"})
    return rows


def behaviour_report(tests: Sequence[Callable[[QuoteModel], object]],
                     models: Mapping[str, QuoteModel]) -> pd.DataFrame:
    """Outcome of every test (rows) on every model (columns)."""
    import pandas as pd

    table = {label: {name: res["outcome"] for name, res in run_tests(tests, m).items()}
             for label, m in models.items()}
    return pd.DataFrame(table)


def plot_response(models: Mapping[str, QuoteModel], parcel: Mapping[str, Any], feature: str,
                  values: Sequence[Any], *, ax: Axes | None = None) -> Axes:
    """Price of ``parcel`` as one field takes ``values``, one line per model."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    numeric = all(isinstance(v, int | float) for v in values)
    x = np.asarray(values, dtype=float) if numeric else np.arange(len(values))
    for (label, model), style in zip(models.items(), ("-", "--", ":", "-."), strict=False):
        prices = model.predict([{**parcel, feature: v} for v in values])
        ax.plot(x, prices, style, marker="" if numeric else "o", lw=2, label=label)
    if not numeric:
        ax.set_xticks(x, [str(v) or '""' for v in values], rotation=45, ha="right")
    ax.set_xlabel(feature)
    ax.set_ylabel("quoted price (EUR)")
    ax.legend()
    return ax
