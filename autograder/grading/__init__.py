"""Grading: plan which submissions need work, execute them, score into the gradebook."""

from .results import Outcome, SubmissionScore, read_scores
from .sequential import grade_assignment

__all__ = ["Outcome", "SubmissionScore", "grade_assignment", "read_scores"]
