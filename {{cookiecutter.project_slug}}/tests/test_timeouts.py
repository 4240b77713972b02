"""A request killed by gunicorn's worker timeout is counted as the 500 its client gets."""

import pytest
from django.test import RequestFactory

from {{ cookiecutter.project_slug }}.metrics.timeouts import (
    IN_FLIGHT,
    TIMED_OUT_STATUS,
    active_metrics,
    record_timed_out_requests,
)


def count(metrics, view: str) -> float:
    return metrics.responses_by_status_view_method.labels(TIMED_OUT_STATUS, view, "GET")._value.get()


def latency_sum(metrics, view: str) -> float:
    return metrics.requests_latency_by_view_method.labels(view, "GET")._sum.get()


@pytest.fixture
def in_flight():
    """in_flight(path, seconds_ago): a request that has been running that long, as the middleware notes it."""
    from time import perf_counter

    def start(path: str, seconds_ago: float, thread: int = 1):
        IN_FLIGHT[thread] = (RequestFactory().get(path), perf_counter() - seconds_ago)

    yield start
    IN_FLIGHT.clear()


def test_the_request_in_flight_is_counted_with_its_view_and_elapsed_time(in_flight):
    metrics = active_metrics()
    before, latency_before = count(metrics, "index"), latency_sum(metrics, "index")
    in_flight("/", seconds_ago=31)
    assert record_timed_out_requests(metrics) == 1
    assert count(metrics, "index") == before + 1
    assert latency_sum(metrics, "index") - latency_before >= 31
    assert IN_FLIGHT == {}


def test_an_unknown_path_counts_under_the_unnamed_view(in_flight):
    metrics = active_metrics()
    before = count(metrics, "<unnamed view>")
    in_flight("/no/such/page", seconds_ago=1)
    record_timed_out_requests(metrics)
    assert count(metrics, "<unnamed view>") == before + 1


def test_every_thread_s_request_is_counted(in_flight):
    in_flight("/", seconds_ago=2, thread=1)
    in_flight("/", seconds_ago=2, thread=2)
    assert record_timed_out_requests(active_metrics()) == 2


def test_nothing_in_flight_records_nothing():
    assert record_timed_out_requests(active_metrics()) == 0


def test_a_served_request_leaves_nothing_in_flight(client):
    assert client.get("/").status_code == 200
    assert IN_FLIGHT == {}
