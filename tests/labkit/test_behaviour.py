"""labkit.behaviour: a sound model with the behaviours the tariff promises, and planted bugs
that each break exactly the behaviour of their kind (what 06_behavioural_tests grades on)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from labkit.behaviour import (
    BUG_KINDS,
    DESCRIPTIONS,
    HIDDEN_MECHANISMS,
    TARIFF_SHEET,
    VISIBLE_MECHANISM,
    QuoteModel,
    audit,
    behaviour_report,
    make_buggy_model,
    make_quote_model,
    passes,
    plot_response,
    run_tests,
)

matplotlib.use("Agg")

PARCELS = [
    {"weight_kg": 0.5, "distance_km": 12.0, "service": "standard"},
    {"weight_kg": 4.0, "distance_km": 350.0, "service": "express"},
    {"weight_kg": 25.0, "distance_km": 880.0, "service": "standard", "insured_value": 300.0},
]
# the seeds the notebook's hidden tests use, per kind (and per feature for direction)
NOTEBOOK_SEEDS = {
    "name_leak": range(30, 36),
    "direction": (40, 41, 44, 45, 42, 43, 46, 47),
    "minimum_functionality": range(50, 56),
    "missing_field": range(60, 66),
}
SOUND_SEEDS = (0, 3, 8)


# ------------------------------------------------ reference checks of each behaviour
def check_invariance(model: QuoteModel) -> None:
    base = model.predict(PARCELS)
    for name in ("Alice Martin", "ACME Logistics SAS", ""):
        for pid in ("PX-000001", "parcel 42"):
            variant = [{**p, "customer_name": name, "parcel_id": pid} for p in PARCELS]
            assert np.array_equal(model.predict(variant), base)


def check_direction(model: QuoteModel) -> None:
    for p in PARCELS:
        for field, grid in (("distance_km", np.linspace(1, 1000, 41)),
                            ("weight_kg", np.linspace(0.1, 30, 31))):
            prices = model.predict([{**p, field: float(v)} for v in grid])
            assert np.all(np.diff(prices) > 0)


def check_tariff(model: QuoteModel) -> None:
    prices = model.predict([c["parcel"] for c in TARIFF_SHEET])
    for case, price in zip(TARIFF_SHEET, prices, strict=True):
        assert case["min_eur"] <= price <= case["max_eur"], case["case"]


def check_missing(model: QuoteModel) -> None:
    for p in PARCELS:
        bare = {k: v for k, v in p.items() if k != "insured_value"}
        zero = model.predict([{**bare, "insured_value": 0.0}])[0]
        for variant in (bare, {**bare, "insured_value": None},
                        {**bare, "insured_value": float("nan")}):
            assert model.predict([variant])[0] == zero


CHECKS = {"name_leak": check_invariance, "direction": check_direction,
          "minimum_functionality": check_tariff, "missing_field": check_missing}


# ------------------------------------------------------------------------ the model
def test_same_seed_same_model_other_seed_other_prices():
    assert make_quote_model(3) == make_quote_model(3)
    recs = [c["parcel"] for c in TARIFF_SHEET]
    p0, p3, p8 = (make_quote_model(s).predict(recs) for s in SOUND_SEEDS)
    # hidden tests rely on retrains moving prices: a hard-coded price must fail
    assert np.max(np.abs(p3 / p0 - 1)) > 0.04 and np.max(np.abs(p8 / p0 - 1)) > 0.04
    assert make_buggy_model("direction", 41).predict(recs).tolist() == \
        make_buggy_model("direction", 41).predict(recs).tolist()


def test_predict_returns_one_float_per_record_from_dicts_or_a_frame():
    model = make_quote_model(0)
    prices = model.predict(PARCELS)
    assert isinstance(prices, np.ndarray) and prices.dtype == float and prices.shape == (3,)
    assert np.array_equal(model.predict(pd.DataFrame(PARCELS)), prices)
    assert model.predict([]).shape == (0,)
    with pytest.raises(TypeError, match="wrap it"):
        model.predict(PARCELS[0])
    with pytest.raises(ValueError, match="service"):
        model.predict([{**PARCELS[0], "service": "overnight"}])


def test_a_prediction_does_not_depend_on_the_rest_of_the_batch():
    model = make_quote_model(0)
    together = model.predict(PARCELS)
    alone = np.array([model.predict([p])[0] for p in PARCELS])
    assert np.array_equal(together, alone)


@pytest.mark.parametrize("seed", [*SOUND_SEEDS, *range(20, 60)])
def test_sound_models_have_every_promised_behaviour(seed):
    model = make_quote_model(seed)
    for check in CHECKS.values():
        check(model)


def test_insurance_fee_is_one_percent_of_the_declared_value():
    model = make_quote_model(0)
    bare, insured = model.predict([PARCELS[0], {**PARCELS[0], "insured_value": 250.0}])
    assert math.isclose(insured - bare, 2.5, abs_tol=1e-9)


# ---------------------------------------------------------------------- the bugs
@pytest.mark.parametrize("kind", BUG_KINDS)
def test_visible_bug_is_the_documented_mechanism_and_breaks_its_behaviour(kind):
    model = make_buggy_model(kind, 0)
    assert model._defect == VISIBLE_MECHANISM[kind]
    with pytest.raises((AssertionError, KeyError)):
        CHECKS[kind](model)


@pytest.mark.parametrize("kind", BUG_KINDS)
def test_notebook_seeds_cover_every_hidden_mechanism(kind):
    mechanisms = {make_buggy_model(kind, s)._defect for s in NOTEBOOK_SEEDS[kind]}
    assert mechanisms == set(HIDDEN_MECHANISMS[kind])
    distance = {make_buggy_model("direction", s)._defect for s in (40, 41, 44, 45)}
    assert distance == {"distance_cap", "distance_flip"}


@pytest.mark.parametrize("kind", BUG_KINDS)
@pytest.mark.parametrize("seed", range(1, 41))
def test_every_hidden_bug_breaks_its_behaviour_and_only_its_own(kind, seed):
    model = make_buggy_model(kind, seed)
    with pytest.raises((AssertionError, TypeError)):
        CHECKS[kind](model)
    # a bug of one kind leaves the invariance to names and ids alone (and vice versa):
    # a test can only earn credit on a kind by checking that kind's behaviour
    if kind != "name_leak":
        check_invariance(model)
    else:
        check_direction(model)
        check_tariff(model)
        check_missing(model)


def test_buggy_models_look_like_sound_ones():
    sound, buggy = make_quote_model(42), make_buggy_model("direction", 42)
    assert type(buggy) is QuoteModel and repr(buggy) == repr(sound)
    assert sound.coef == buggy.coef


def test_bug_factory_rejects_unknown_kinds_and_negative_seeds():
    with pytest.raises(ValueError, match="kind"):
        make_buggy_model("typo")
    with pytest.raises(ValueError, match="seed"):
        make_buggy_model("direction", -1)


# ---------------------------------------------------------------------- the runner
def test_runner_reports_pass_fail_and_error_as_plain_data():
    def test_ok(model):
        assert model.predict(PARCELS[:1])[0] > 0

    def test_wrong(model):
        assert model.predict(PARCELS[:1])[0] < 0, "negative price expected"

    def test_stub(model):
        raise NotImplementedError()

    results = run_tests([test_ok, test_wrong, test_stub], make_quote_model(0))
    assert list(results) == ["test_ok", "test_wrong", "test_stub"]
    assert results["test_ok"] == {"outcome": "passed", "message": ""}
    assert results["test_stub"] == {"outcome": "error", "message": "NotImplementedError: "}
    # (pytest appends its assertion rewrite to the message; the learner's kernel does not)
    assert results["test_wrong"]["outcome"] == "failed"
    assert results["test_wrong"]["message"].startswith("negative price expected")
    assert passes(test_ok, make_quote_model(0)) and not passes(test_stub, make_quote_model(0))


def test_a_model_crash_is_reported_as_an_error():
    def test_missing(model):
        model.predict([{"weight_kg": 1.0, "distance_km": 5.0, "service": "standard"}])

    result = run_tests([test_missing], make_buggy_model("missing_field", 0))["test_missing"]
    assert result["outcome"] == "error" and result["message"].startswith("KeyError")


def test_behaviour_report_is_a_tests_by_models_table():
    def test_ok(model):
        pass

    def test_stub(model):
        raise NotImplementedError()

    table = behaviour_report([test_ok, test_stub], {"sound": make_quote_model(0),
                                                    "bug": make_buggy_model("direction")})
    assert table.shape == (2, 2) and list(table.columns) == ["sound", "bug"]
    assert table.loc["test_ok"].tolist() == ["passed", "passed"]
    assert table.loc["test_stub"].tolist() == ["error", "error"]


@pytest.mark.parametrize(("field", "values"), [("distance_km", [1.0, 100.0, 1000.0]),
                                               ("customer_name", ["Ann", "Bo", "Cy"])])
def test_plot_response_draws_one_line_per_model(field, values):
    import matplotlib.pyplot as plt

    models = {"sound": make_quote_model(0), "bug": make_buggy_model("name_leak")}
    ax = plot_response(models, PARCELS[0], field, values)
    assert len(ax.get_lines()) == 2
    assert len(ax.get_lines()[0].get_xdata()) == 3
    plt.close("all")


def test_audit_credits_only_a_test_that_passes_on_sound_and_fails_on_the_bug():
    def test_stub(model):
        raise NotImplementedError()

    def test_everything_passes(model):
        pass

    seeds = NOTEBOOK_SEEDS["direction"]
    good = audit(check_direction, "direction", seeds)
    assert [r["seed"] for r in good] == list(seeds) and all(r["credit"] for r in good)
    assert {r["mechanism"] for r in good} == set(HIDDEN_MECHANISMS["direction"])
    assert all(r["description"] == DESCRIPTIONS[r["mechanism"]] for r in good)
    assert not any(r["credit"] for r in audit(test_stub, "direction", seeds))
    assert not any(r["credit"] for r in audit(test_everything_passes, "direction", seeds))
    # a test of another behaviour earns nothing on this kind
    assert not any(r["credit"] for r in audit(check_invariance, "direction", seeds))


def test_every_mechanism_is_described():
    mechanisms = set(VISIBLE_MECHANISM.values()).union(*HIDDEN_MECHANISMS.values())
    assert mechanisms == set(DESCRIPTIONS)
