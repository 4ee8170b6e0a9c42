"""labkit.releases: digits split, seeded traffic with planted answers, a local registry, plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labkit.releases import (
    CENTRES,
    CHAMPION,
    NEW_SCANNER_CENTRE,
    PALE_INK,
    aliases,
    close_registry,
    first_rollback,
    load_model,
    load_postcode_digits,
    make_paired_predictions,
    make_scan_traffic,
    make_scans,
    make_shadow_log,
    normalise_contrast,
    open_registry,
    plot_canary,
    plot_shadow,
    register_model,
    reset_model,
    simulate_canary,
    thin_out,
    version_tags,
    watch_canary,
)


def _by_parcel_digit(scan: dict) -> str:
    return "canary" if int(scan["parcel_id"][1:]) % 10 == 3 else "control"


def test_releases_digits_split_is_stratified_and_scaled():
    split = load_postcode_digits(seed=0)
    assert split.X_train.shape == (1078, 64) and split.X_holdout.shape == (719, 64)
    assert split.X_train.min() >= 0 and split.X_train.max() <= 1
    shares = np.bincount(split.y_holdout) / len(split.y_holdout)
    assert np.allclose(shares, np.bincount(split.y_train) / len(split.y_train), atol=0.01)
    again = load_postcode_digits(seed=0)
    assert np.array_equal(split.X_holdout, again.X_holdout)


def test_releases_thin_out_keeps_a_share_of_one_digit():
    split = load_postcode_digits(seed=0)
    X, y = thin_out(split.X_train, split.y_train, digit=8, keep=0.1, seed=0)
    before, after = np.sum(split.y_train == 8), np.sum(y == 8)
    assert 0 < after < 0.25 * before
    for d in (0, 3, 9):
        assert np.sum(y == d) == np.sum(split.y_train == d)
    assert len(X) == len(y)


def test_releases_normalise_contrast_ignores_ink_intensity():
    X = load_postcode_digits(seed=0).X_holdout[:50]
    assert np.allclose(normalise_contrast(X * PALE_INK), normalise_contrast(X))
    assert np.allclose(normalise_contrast(X).max(axis=1), 1.0)
    assert np.array_equal(normalise_contrast(np.zeros((2, 64))), np.zeros((2, 64)))


def test_releases_scan_traffic_makes_one_centre_pale():
    split = load_postcode_digits(seed=0)
    log, images, truth = make_scan_traffic(split.X_holdout, split.y_holdout, n=2000, seed=3)
    assert list(log.columns) == ["request_id", "parcel_id", "centre"]
    assert len(log) == len(images) == len(truth) == 2000
    assert set(log["centre"]) == set(CENTRES) and log["request_id"].is_unique
    pale = (log["centre"] == NEW_SCANNER_CENTRE).to_numpy()
    assert images[pale].max(axis=1).max() <= PALE_INK + 1e-12
    assert np.isclose(images[~pale].max(axis=1).mean(), 1.0, atol=0.05)
    log2, images2, _ = make_scan_traffic(split.X_holdout, split.y_holdout, n=2000, seed=3)
    assert log.equals(log2) and np.array_equal(images, images2)
    with pytest.raises(ValueError):
        make_scan_traffic(split.X_holdout, split.y_holdout, pale_centre="Paris")


def test_releases_scans_recur_per_parcel_with_one_centre():
    scans = make_scans(3000, seed=1)
    assert len(scans) == 3000 and set(scans[0]) == {"request_id", "parcel_id", "centre"}
    centres: dict[str, set] = {}
    for scan in scans:
        centres.setdefault(scan["parcel_id"], set()).add(scan["centre"])
    assert all(len(c) == 1 for c in centres.values())
    assert 1.5 < len(scans) / len(centres) < 4, "parcels are scanned several times"
    assert make_scans(3000, seed=1) == scans and make_scans(3000, seed=2) != scans


def test_releases_paired_predictions_plant_the_gain_per_slice():
    df = make_paired_predictions(20_000, seed=0, champion_accuracy=0.9, gain=0.03,
                                 slice_gain={"east": -0.05})
    assert list(df.columns) == ["y_true", "champion", "challenger", "slice"]
    ok = df.assign(ch=df.champion == df.y_true, cl=df.challenger == df.y_true)
    acc = ok.groupby("slice")[["ch", "cl"]].mean()
    assert np.allclose(acc["ch"], 0.9, atol=0.01)
    gain = acc["cl"] - acc["ch"]
    assert abs(gain["east"] + 0.05) < 0.01
    assert all(abs(gain[s] - 0.03) < 0.01 for s in ("north", "south", "west"))
    with pytest.raises(ValueError):
        make_paired_predictions(10, slice_gain={"centre": 0.1})
    with pytest.raises(ValueError):
        make_paired_predictions(10, champion_accuracy=0.9, gain=0.5)


def test_releases_shadow_log_has_exact_counts_and_flips():
    counts = {"A": (300, 30), "B": (200, 0), "C": (100, 50)}
    log = make_shadow_log(counts, seed=4, flips={"C": (1, 8)})
    assert list(log.columns) == ["request_id", "centre", "champion", "challenger"]
    for centre, (n, d) in counts.items():
        part = log[log.centre == centre]
        assert len(part) == n and int((part.champion != part.challenger).sum()) == d
    c = log[(log.centre == "C") & (log.champion != log.challenger)]
    assert int(((c.champion == 1) & (c.challenger == 8)).sum()) == 30
    with pytest.raises(ValueError):
        make_shadow_log({"A": (10, 11)})


def test_releases_canary_incident_raises_canary_errors_only():
    tl = simulate_canary(_by_parcel_digit, seed=0, minutes=40, incident_minute=20)
    assert list(tl.columns) == ["minute", "control_requests", "control_errors",
                                "canary_requests", "canary_errors"]
    assert (tl.control_requests + tl.canary_requests == 400).all()
    assert all(pd.api.types.is_integer_dtype(tl[c]) for c in tl.columns)
    before, after = tl[tl.minute < 20].sum(), tl[tl.minute >= 20].sum()
    rate_before = before.canary_errors / before.canary_requests
    assert after.canary_errors / after.canary_requests > 2 * rate_before
    healthy = simulate_canary(_by_parcel_digit, seed=0, minutes=40, incident_minute=None)
    rate = healthy.sum()
    assert rate.canary_errors / rate.canary_requests < rate.control_errors / rate.control_requests
    with pytest.raises(ValueError):
        simulate_canary(lambda scan: "blue", minutes=1)


def test_releases_watch_canary_applies_the_decision_on_windows():
    tl = simulate_canary(_by_parcel_digit, seed=1, minutes=20, incident_minute=None)

    def decide(ce, cn, oe, on):
        assert all(type(v) is int for v in (ce, cn, oe, on))
        return {"rollback": cn > 300, "z": 0.0, "p_value": 0.5}

    watch = watch_canary(tl, decide, window=5)
    assert len(watch) == 20 and watch.loc[4, "canary_requests"] == tl.canary_requests[:5].sum()
    assert watch.loc[10, "control_requests"] == tl.control_requests[6:11].sum()
    expected = watch.loc[watch.canary_requests > 300, "minute"]
    assert first_rollback(watch) == (int(expected.iloc[0]) if len(expected) else None)
    never = watch_canary(tl, lambda *a: {"rollback": False, "z": 0.0, "p_value": 1.0})
    assert first_rollback(never) is None
    with pytest.raises(ValueError):
        watch_canary(tl, decide, window=0)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """One registry for the module: creating its SQLite database takes about 2 s."""
    reg = open_registry(tmp_path_factory.mktemp("releases") / "registry")
    yield reg
    close_registry(reg)


def test_releases_registry_round_trip_and_aliases(registry):
    from sklearn.linear_model import LogisticRegression

    split = load_postcode_digits(seed=0)
    model = LogisticRegression(C=0.1, max_iter=2000).fit(split.X_train, split.y_train)
    reset_model(registry, "reader")
    first = register_model(registry, "reader", model, metrics={"accuracy": 0.9},
                           description="first")
    second = register_model(registry, "reader", {"not": "a model"})
    assert (first, second) == ("1", "2")
    registry.client.set_registered_model_alias("reader", CHAMPION, first)
    assert aliases(registry, "reader") == {"champion": "1"}
    back = load_model(registry, "reader", CHAMPION)
    assert np.array_equal(back.predict(split.X_holdout), model.predict(split.X_holdout))
    registry.client.set_model_version_tag("reader", "2", "gate", "rejected")
    assert version_tags(registry, "reader", "2") == {"gate": "rejected"}
    source = registry.client.get_model_version("reader", "1").source
    assert str(registry.store.folder) in source, "artifacts stay inside the registry folder"
    reset_model(registry, "reader")
    reset_model(registry, "reader")  # twice: no error when it does not exist
    assert register_model(registry, "reader", {"again": 1}) == "1"


def test_releases_open_registry_starts_fresh_inside_the_folder(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    from labkit.tracking import import_mlflow

    mlflow = import_mlflow()
    before = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second open empties the folder: versions start again at 1
        reg = open_registry("registry")
        try:
            assert register_model(reg, "m", {"x": 1}) == "1"
            assert reg.store.folder.is_relative_to(tmp_path / "registry")
        finally:
            close_registry(reg)
    assert len(list((tmp_path / "registry").iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry"]
    after = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    assert after == before, "close_registry restores the tracking setup it found"


def test_releases_plots_draw():
    import matplotlib.pyplot as plt

    report = pd.DataFrame({"requests": [10, 20], "disagreements": [1, 0], "rate": [0.1, 0.0],
                           "top_flip": ["1->8", ""]}, index=pd.Index(["A", "B"], name="centre"))
    ax = plot_shadow(report)
    assert len(ax.patches) == 2
    tl = simulate_canary(_by_parcel_digit, seed=0, minutes=15, incident_minute=5)
    watch = watch_canary(tl, lambda *a: {"rollback": a[0] > 5, "z": 1.0, "p_value": 0.01})
    axes = plot_canary(tl, watch=watch, alpha=0.01, incident_minute=5)
    assert len(axes) == 2
    assert len(plot_canary(tl)) == 1
    plt.close("all")
