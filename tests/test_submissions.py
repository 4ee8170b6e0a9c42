import nbformat
import pytest

from autograder.submissions import answered, fixtures_for, load_fixture, reference_answer

from .conftest import STOCK_COURSE

SOURCE = STOCK_COURSE / "source" / "ps1" / "problem1.ipynb"


def _release():
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
    return nb


def test_reference_answer_drops_only_the_markers():
    source = nbformat.read(SOURCE, as_version=4)
    answer = reference_answer(source.cells[1])
    assert "BEGIN SOLUTION" not in answer and "END SOLUTION" not in answer
    assert "return [i * i for i in range(n)]" in answer
    assert answer.startswith("def squares(n):")


def test_answered_fills_solution_cells_and_takes_given_answers():
    source = nbformat.read(SOURCE, as_version=4)
    filled = answered(_release(), source, {"mean_answer": "def mean(v):\n    return 0"})
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in filled.cells}
    assert "range(n)" in by_id["squares_answer"]
    assert by_id["mean_answer"] == "def mean(v):\n    return 0"
    assert "NotImplementedError" not in by_id["squares_answer"]


def test_answers_for_unknown_cells_are_refused():
    source = nbformat.read(SOURCE, as_version=4)
    with pytest.raises(KeyError, match="squares_correct"):
        answered(_release(), source, {"squares_correct": "pass"})


def test_fixture_files_load(tmp_path):
    folder = tmp_path / "ps1"
    folder.mkdir()
    (folder / "off_by_one.toml").write_text(
        'description = "starts at 1"\nexpected_score = 3\n[answers]\n'
        "squares_answer = '''\ndef squares(n):\n    return [i * i for i in range(1, n + 1)]\n'''\n")
    [fixture] = fixtures_for(tmp_path, "ps1")
    assert fixture.name == "off_by_one" and fixture.expected_score == 3.0
    assert fixture.answers["squares_answer"].startswith("def squares(n):")


def test_a_fixture_without_its_expected_score_is_refused(tmp_path):
    (tmp_path / "bad.toml").write_text('description = "x"\n[answers]\n')
    with pytest.raises(ValueError, match="expected_score"):
        load_fixture(tmp_path / "bad.toml")
