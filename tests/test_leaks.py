import nbformat

from autograder import authoring
from autograder.leaks import find_leaks

HIDDEN = '''
"""f doubles."""
assert f(1) == 2
### BEGIN HIDDEN TESTS
assert f(21) == 42, "hidden variant"
### END HIDDEN TESTS
'''


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _source():
    return _nb(
        authoring.solution("def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n"
                           "    ### END SOLUTION", grade_id="f"),
        authoring.tests(HIDDEN, grade_id="f_doubles", points=1),
        authoring.written("Model answer: it doubles everything.", grade_id="why", points=1))


def _release(test_source, solution_source="def f(x):\n    raise NotImplementedError()",
             written="YOUR ANSWER HERE"):
    return _nb(nbformat.v4.new_code_cell(solution_source),
               nbformat.v4.new_code_cell(test_source),
               nbformat.v4.new_markdown_cell(written))


def test_a_clean_release_has_no_leak():
    assert find_leaks(_source(), _release('"""f doubles."""\nassert f(1) == 2')) == []


def test_hidden_test_text_in_the_release_is_found():
    leaks = find_leaks(_source(), _release('assert f(21) == 42, "hidden variant"'))
    assert len(leaks) == 1 and "instructor-only line" in leaks[0]


def test_a_misspelled_marker_is_found():
    leaks = find_leaks(_source(), _release("### BEGIN HIDDEN TEST\nassert True"))
    assert any("marker left" in leak for leak in leaks)


def test_solution_and_model_answer_are_found():
    leaks = find_leaks(_source(), _release("", solution_source="return x * 2",
                                           written="Model answer: it doubles everything."))
    assert len(leaks) == 2
