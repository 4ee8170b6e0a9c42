"""The report's figures, as PNG bytes (matplotlib's Agg backend: no screen needed)."""

from __future__ import annotations

import io

import numpy as np

from .data import CourseData


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def score_distributions(data: CourseData) -> bytes:
    """One box per assignment, every learner's share of the points as a dot."""
    fig, ax = _figure(max(6, 1.2 * len(data.assignments)), 3.6)
    shares = [[100 * s / a.max_score for s in a.scores.values()] if a.max_score else []
              for a in data.assignments]
    positions = np.arange(len(shares))
    ax.boxplot([s or [np.nan] for s in shares], positions=positions, widths=0.5,
               showfliers=False)
    rng = np.random.default_rng(0)  # jitter only, so dots do not hide each other
    for x, values in zip(positions, shares, strict=True):
        ax.scatter(x + rng.uniform(-0.15, 0.15, len(values)), values, s=12, alpha=0.6)
    ax.set_xticks(positions, [a.name for a in data.assignments], rotation=30, ha="right")
    ax.set_ylabel("score, % of the points")
    ax.set_ylim(-5, 105)
    ax.set_title("Scores per assignment (flagged submissions excluded)")
    return _png(fig)


def failing_tests(data: CourseData) -> bytes:
    """Share of graded learners failing each test; hidden-check cells marked."""
    tests = [(a, t) for a in data.assignments for t in a.tests]
    fig, ax = _figure(7, max(2.5, 0.28 * len(tests) + 1))
    rates = np.array([[a.failure_rate(t)] for a, t in tests]) if tests else np.zeros((1, 1))
    image = ax.imshow(rates, cmap="Reds", vmin=0, vmax=1, aspect="auto")
    labels = [f"{t.name}{'  [hidden checks]' if t.hidden else ''}" for _, t in tests]
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xticks([])
    for i, (rate,) in enumerate(rates):
        ax.text(0, i, f"{rate:.0%}", ha="center", va="center", fontsize=8,
                color="white" if rate > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="share of learners failing")
    ax.set_title("Which tests fail (cells with hidden checks run those only at grading)")
    return _png(fig)


def grading_times(data: CourseData) -> bytes:
    """How long each submission took to grade (execution and scoring)."""
    fig, ax = _figure(6, 3.2)
    for a in data.assignments:
        if a.seconds:
            ax.hist(list(a.seconds.values()), bins=15, alpha=0.6, label=a.name)
    ax.set_xlabel("seconds per submission")
    ax.set_ylabel("submissions")
    if any(a.seconds for a in data.assignments):
        ax.legend(fontsize=8)
    ax.set_title("Grading time per submission")
    return _png(fig)


def submission_status(data: CourseData) -> bytes:
    """On time, late, flagged and missing, per assignment."""
    fig, ax = _figure(max(6, 1.2 * len(data.assignments)), 3.4)
    names = [a.name for a in data.assignments]
    late = np.array([len(a.late) for a in data.assignments])
    graded = np.array([len(a.scores) for a in data.assignments]) - late
    flagged = np.array([len(a.flagged) for a in data.assignments])
    missing = np.array([len(data.missing(a)) for a in data.assignments])
    bottom = np.zeros(len(names))
    for values, label, color in [(graded, "on time", "#4c9f70"), (late, "late", "#e0a526"),
                                 (flagged, "flagged", "#c0392b"), (missing, "missing", "#999")]:
        ax.bar(names, values, bottom=bottom, label=label, color=color)
        bottom += values
    ax.set_ylabel("learners")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8, ncol=4)
    ax.set_title("Submissions")
    return _png(fig)
