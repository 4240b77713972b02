"""A request killed by gunicorn's worker timeout is counted as the 500 its client gets."""

import pytest
from django.test import RequestFactory

from service_runtime.request_metrics.inflight import IN_FLIGHT
from service_runtime.request_metrics.timeouts import (
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

    def start(path: str, seconds_ago: float):
        IN_FLIGHT[RequestFactory().get(path)] = [perf_counter() - seconds_ago, None]

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
    in_flight("/", seconds_ago=2)
    in_flight("/", seconds_ago=2)
    assert record_timed_out_requests(active_metrics()) == 2


def test_nothing_in_flight_records_nothing():
    assert record_timed_out_requests(active_metrics()) == 0


def test_a_served_request_leaves_nothing_in_flight(client):
    assert client.get("/").status_code == 200
    assert IN_FLIGHT == {}


def streamed(request):
    from django.http import StreamingHttpResponse

    return StreamingHttpResponse(iter([b"first half\n", b"second half\n"]))


def ok_count(metrics, view: str) -> float:
    return metrics.responses_by_status_view_method.labels("200", view, "GET")._value.get()


@pytest.fixture
def profile_middleware(settings):
    """The profile's in-flight middleware around a streaming view, and how many 200s it counts per response.

    The lean middleware counts responses itself; in the full profile django-prometheus'
    own middleware does, and ``InFlightMiddleware`` only notes requests in flight.
    """
    from service_runtime.request_metrics.inflight import InFlightMiddleware
    from service_runtime.request_metrics.lean import lean_metrics_middleware
    from service_runtime.request_metrics.profiles import LEAN

    if settings.METRICS_PROFILE == LEAN:
        yield lean_metrics_middleware(streamed), 1
    else:
        yield InFlightMiddleware(streamed), 0
    IN_FLIGHT.clear()


@pytest.mark.django_db  # response.close() sends request_finished, which closes connections
def test_a_streamed_response_is_in_flight_until_its_body_is_sent(profile_middleware):
    """M3: the request left IN_FLIGHT when the view returned, before gunicorn sent a byte of the body."""
    middleware, counted = profile_middleware
    metrics = active_metrics()
    before = ok_count(metrics, "<unnamed view>")
    response = middleware(RequestFactory().get("/stream"))
    assert len(IN_FLIGHT) == 1, "the body is still to be sent"
    assert ok_count(metrics, "<unnamed view>") == before, "not counted before it is sent"
    assert b"".join(response.streaming_content) == b"first half\nsecond half\n"
    response.close()
    assert IN_FLIGHT == {}
    assert ok_count(metrics, "<unnamed view>") == before + counted


@pytest.mark.django_db  # response.close() sends request_finished, which closes connections
def test_a_stream_cut_off_by_the_timeout_counts_once_as_a_500(profile_middleware):
    middleware, _ = profile_middleware
    metrics = active_metrics()
    ok_before, failed_before = ok_count(metrics, "<unnamed view>"), count(metrics, "<unnamed view>")
    response = middleware(RequestFactory().get("/stream"))
    body = iter(response.streaming_content)
    next(body)  # the first half is sent; then gunicorn's timeout fires
    assert record_timed_out_requests(metrics) == 1
    response.close()  # the worker unwinds
    assert count(metrics, "<unnamed view>") == failed_before + 1
    assert ok_count(metrics, "<unnamed view>") == ok_before, "the cut-off 200 is not counted as well"


@pytest.mark.django_db  # response.close() sends request_finished, which closes connections
def test_a_streamed_body_never_iterated_is_still_counted_when_closed(profile_middleware):
    middleware, counted = profile_middleware
    heads = active_metrics().responses_by_status_view_method.labels("200", "<unnamed view>", "HEAD")
    before = heads._value.get()
    middleware(RequestFactory().head("/stream")).close()
    assert IN_FLIGHT == {}
    assert heads._value.get() == before + counted
