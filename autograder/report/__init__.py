"""What instructors see after grading: an HTML report with plots, and the LMS grade CSV."""

from .build import write_report
from .data import CourseData, collect

__all__ = ["CourseData", "collect", "write_report"]
