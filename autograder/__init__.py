"""poc2prod's instructor toolkit on top of nbgrader: check, release, collect, grade, feedback."""

__version__ = "0.1.0"
