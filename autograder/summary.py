"""Plain-text tables for the terminal: grading outcomes and grade tables."""

from __future__ import annotations

from collections import Counter

from .grading import Outcome


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A left-aligned text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, row)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def outcome_table(outcomes: list[Outcome]) -> str:
    """One row per submission, then the count of graded, failed and skipped."""
    rows = [[o.student, o.status, f"{o.seconds:.1f}", o.reason] for o in outcomes]
    counts = Counter(o.status for o in outcomes)
    total = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("graded", "failed", "skipped"))
    return table(["student", "status", "seconds", "reason"], rows) + f"\n{total}"
