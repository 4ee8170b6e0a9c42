"""Which names the trusted test kernel defines itself and which it fetches from the learner."""

from __future__ import annotations

from autograder.grading.split import BOTH_KERNELS, TrustedNames


def test_locked_imports_and_definitions_run_in_the_trusted_kernel():
    names = TrustedNames()
    fetch, statements = names.locked_cell(
        "%matplotlib inline\nimport numpy as np\nfrom math import isclose\nSEED = 7\n"
        "X = np.ones(3)\ndef helper(v):\n    return v + X\n")
    assert fetch == []
    assert statements == ["import numpy as np", "from math import isclose", "SEED = 7",
                          "def helper(v):\n    return v + X"]
    # X is data the locked cell computed: fetched, also for the helper that reads it
    assert names.test_cell("assert isclose(helper(1)[0], 2)") == ["X"]


def test_an_answer_cannot_replace_the_instructors_code_but_can_set_a_placeholder():
    names = TrustedNames()
    names.locked_cell("from sklearn.metrics import f1_score\nbest_k = None\n")
    names.answer_cell("f1_score = lambda *a: 1.0\nbest_k = 3\ndef answer():\n    return 1\n")
    assert names.test_cell("assert f1_score(y, answer()) > 0.9 and best_k > 0") == [
        "answer", "best_k", "y"]


def test_what_a_test_binds_stays_the_tests():
    names = TrustedNames()
    names.test_cell("expected = [0, 1, 4]\nimport math\n")
    names.answer_cell("expected = [9, 9, 9]\nmath = None\n")
    assert names.test_cell("assert squares(3) == expected and math.pi > 3") == ["squares"]


def test_a_cell_marked_for_both_kernels_runs_whole_after_its_inputs_arrive():
    names = TrustedNames()
    fetch, statements = names.locked_cell(f"{BOTH_KERNELS}\nmodel = fit(X_train, y_train)\n")
    assert fetch == ["X_train", "fit", "y_train"] and len(statements) == 1
    assert names.test_cell("assert model.score(X_train, y_train) > 0.5") == ["X_train",
                                                                            "y_train"]


def test_unparsable_cells_fetch_nothing():
    names = TrustedNames()
    assert names.locked_cell("def broken(:\n") == ([], [])
    assert names.test_cell("assert (") == []
