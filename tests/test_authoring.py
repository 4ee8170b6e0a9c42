import nbformat
import pytest

from autograder import authoring


def test_notebook_has_complete_nbgrader_metadata(tmp_path):
    path = authoring.write_notebook([
        authoring.markdown("# Title", grade_id="intro"),
        authoring.solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                           grade_id="f_answer"),
        authoring.tests('"""f returns 1."""\nassert f() == 1', grade_id="f_is_one", points=2),
        authoring.written("Because.", grade_id="why", points=1),
    ], tmp_path / "a" / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    meta = [c.metadata["nbgrader"] for c in nb.cells]
    assert [m["grade_id"] for m in meta] == ["intro", "f_answer", "f_is_one", "why"]
    assert meta[2]["grade"] and meta[2]["locked"] and meta[2]["points"] == 2
    assert meta[1]["solution"] and not meta[1]["locked"]
    assert meta[3]["solution"] and meta[3]["grade"] and nb.cells[3].cell_type == "markdown"
    assert nb.metadata.kernelspec.name == "python3"
    assert all(c.get("outputs", []) == [] for c in nb.cells)


def test_duplicate_grade_ids_are_refused(tmp_path):
    cells = [authoring.markdown("a", grade_id="x"), authoring.markdown("b", grade_id="x")]
    with pytest.raises(ValueError, match="duplicate grade ids: \\['x'\\]"):
        authoring.write_notebook(cells, tmp_path / "nb.ipynb")


def test_solution_without_region_is_refused():
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        authoring.solution("def f():\n    return 1", grade_id="f")
