import pytest

from autograder.cli import build_parser, main

COMMANDS = ["check", "release", "collect", "grade", "feedback", "export", "report", "demo",
            "start", "lab"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: poc2prod {command}" in capsys.readouterr().out


def test_the_parser_knows_exactly_the_documented_commands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


def test_unknown_course_is_a_clear_error(capsys, tmp_path):
    assert main(["release", "nope", "x", "--home", str(tmp_path)]) == 2
    assert "no course 'nope'" in capsys.readouterr().err


def test_grade_needs_a_course_and_an_assignment(tmp_path):
    with pytest.raises(SystemExit, match="COURSE ASSIGNMENT"):
        main(["grade", "course1_poc", "--home", str(tmp_path)])
    with pytest.raises(SystemExit, match="with --course-root give ASSIGNMENT"):
        main(["grade", "--course-root", str(tmp_path), "a", "b"])


def test_course_root_must_be_an_nbgrader_course(tmp_path, capsys):
    assert main(["grade", "--course-root", str(tmp_path), "ps1"]) == 2
    assert "not an nbgrader course folder" in capsys.readouterr().err
