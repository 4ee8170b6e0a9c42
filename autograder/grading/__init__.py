"""Grading: plan which submissions need work, execute them in parallel, score serially."""

from .engine import grade_assignment
from .results import Outcome, SubmissionScore, read_scores

__all__ = ["Outcome", "SubmissionScore", "grade_assignment", "read_scores"]
