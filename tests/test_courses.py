from pathlib import Path

import pytest

from autograder.courses import (
    HOME_ENV,
    REPO_ROOT,
    CourseError,
    Instance,
    all_courses,
    get_course,
    instance_home,
    select,
    stock_course_config,
)

COURSES = ["course1_poc", "course2_scaling", "course3_production"]


def test_the_three_courses_each_have_assignments():
    courses = all_courses()
    assert [c.name for c in courses] == COURSES
    for course in courses:
        assert course.assignments(), f"{course.name} has no assignment"
        for assignment in course.assignments():
            assert course.notebooks(assignment), f"{course.name}/{assignment} has no notebook"


def test_instance_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert instance_home(tmp_path / "explicit") == tmp_path / "explicit"
    assert instance_home() == tmp_path / "from-env"
    monkeypatch.delenv(HOME_ENV)
    assert "poc2prod" in str(instance_home())


def test_instance_home_never_inside_the_repository():
    with pytest.raises(CourseError, match="outside the repository"):
        instance_home(REPO_ROOT / "state")


def test_unknown_names_are_said_in_words():
    with pytest.raises(CourseError, match="no course 'nope'.*course1_poc"):
        get_course("nope")
    with pytest.raises(CourseError, match="has no assignment 'nope'"):
        select("course1_poc", "nope")


def test_instance_config_keeps_state_outside_the_repo(tmp_path):
    course = get_course("course1_poc")
    config = Instance(tmp_path).config(course)
    assert config.CourseDirectory.root == str(tmp_path / "courses" / "course1_poc")
    assert config.CourseDirectory.source_directory == str(course.source_dir)
    assert config.CourseDirectory.course_id == "course1_poc"
    assert config.Exchange.root == str(tmp_path / "exchange")
    assert Path(config.Exchange.root).is_dir()


def test_stock_config_reads_the_folders_own_config(tmp_path):
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'stats101'\n")
    config = stock_course_config(tmp_path)
    assert config.CourseDirectory.course_id == "stats101"
    assert config.CourseDirectory.root == str(tmp_path)


def test_stock_config_refuses_a_folder_that_is_not_a_course(tmp_path):
    with pytest.raises(CourseError, match="not an nbgrader course folder"):
        stock_course_config(tmp_path)
