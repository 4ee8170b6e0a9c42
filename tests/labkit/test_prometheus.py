"""The /metrics reader used by course 3's serving tests."""

from __future__ import annotations

import math

import pytest

from labkit.prometheus import ExpositionError, histogram, key, parse_metrics

BODY = """# HELP http_requests_total Requests answered.
# TYPE http_requests_total counter
http_requests_total{path="/predict",status="200"} 3
http_requests_total{status="422",path="/predict"} 2
up 1
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{path="/predict",le="0.01"} 1
http_request_duration_seconds_bucket{path="/predict",le="+Inf"} 5
http_request_duration_seconds_bucket{path="/predict",le="0.1"} 4
http_request_duration_seconds_sum{path="/predict"} 0.25
http_request_duration_seconds_count{path="/predict"} 5
"""


def test_prometheus_samples_are_keyed_by_name_and_sorted_labels():
    samples = parse_metrics(BODY)
    assert samples[key("http_requests_total", path="/predict", status="200")] == 3
    assert samples[key("http_requests_total", status="422", path="/predict")] == 2
    assert samples[key("up")] == 1
    assert samples[key("http_request_duration_seconds_count", path="/predict")] == 5


def test_prometheus_histogram_buckets_sorted_by_bound():
    buckets = histogram(parse_metrics(BODY), "http_request_duration_seconds", path="/predict")
    assert buckets == [(0.01, 1.0), (0.1, 4.0), (math.inf, 5.0)]


@pytest.mark.parametrize("line", ["http_requests_total{path=/predict} 3", "no_number abc",
                                  "just words here"])
def test_prometheus_malformed_lines_are_refused(line):
    with pytest.raises(ExpositionError):
        parse_metrics(line)
