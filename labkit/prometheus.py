"""Read the Prometheus text exposition format, so tests can check a /metrics endpoint.

Only what a service's own metrics need: ``# HELP``/``# TYPE`` comments, sample lines
``name{label="value",...} number`` and ``name number``. Each sample becomes a key
``(name, ((label, value), ...))`` with the labels sorted, so a test can look one up.
"""

from __future__ import annotations

import math
import re

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Key = tuple[str, tuple[tuple[str, str], ...]]


class ExpositionError(ValueError):
    """A line that is neither a comment nor a well-formed sample."""


def key(name: str, **labels: str) -> Key:
    """The key of one sample: ``key("http_requests_total", path="/predict", status="200")``."""
    return name, tuple(sorted(labels.items()))


def parse_metrics(text: str) -> dict[Key, float]:
    """Every sample of a /metrics body; raises ExpositionError on a malformed line."""
    samples: dict[Key, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if match is None:
            raise ExpositionError(f"line {number} is not a sample: {line!r}")
        name, _, body, value = match.groups()
        labels = tuple(sorted(LABEL.findall(body or "")))
        if body and not labels:
            raise ExpositionError(f"line {number} has unreadable labels: {line!r}")
        try:
            samples[(name, labels)] = math.inf if value == "+Inf" else float(value)
        except ValueError:
            raise ExpositionError(f"line {number} has no number: {line!r}") from None
    return samples


def histogram(samples: dict[Key, float], name: str, **labels: str) -> list[tuple[float, float]]:
    """The (upper bound, cumulative count) pairs of one histogram, sorted by bound."""
    wanted = set(labels.items())
    buckets = []
    for (sample, sample_labels), value in samples.items():
        found = dict(sample_labels)
        if sample == f"{name}_bucket" and wanted <= set(sample_labels) and "le" in found:
            bound = math.inf if found["le"] == "+Inf" else float(found["le"])
            buckets.append((bound, value))
    return sorted(buckets)
