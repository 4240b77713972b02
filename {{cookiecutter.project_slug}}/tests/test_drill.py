"""Downtime drills: refused when malformed, off by default, and a drilled request is a counted 503."""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from service_runtime.error_budget.checks import drill_has_not_ended
from service_runtime.error_budget.drill import DRILL_HEADER, MAX_DRILL_RATIO, Drill, drill_from_environment, parse_end

FUTURE = "2999-01-01T00:00:00Z"


def test_off_unless_a_ratio_is_set():
    assert drill_from_environment({}) is None
    assert drill_from_environment({"DOWNTIME_DRILL_RATIO": "0", "DOWNTIME_DRILL_UNTIL": "nonsense"}) is None


def test_a_drill_reads_its_ratio_and_end():
    drill = drill_from_environment(
        {"DOWNTIME_DRILL_RATIO": "0.05", "DOWNTIME_DRILL_UNTIL": "2999-01-01T01:00:00+01:00"}
    )
    assert drill == Drill(0.05, 32472144000.0)
    assert drill.until_text == "2999-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DOWNTIME_DRILL_RATIO": "0.5", "DOWNTIME_DRILL_UNTIL": FUTURE}, "DOWNTIME_DRILL_RATIO='0.5'"),
        ({"DOWNTIME_DRILL_RATIO": "five", "DOWNTIME_DRILL_UNTIL": FUTURE}, "DOWNTIME_DRILL_RATIO='five'"),
        ({"DOWNTIME_DRILL_RATIO": "0.05"}, "DOWNTIME_DRILL_RATIO=0.05 needs DOWNTIME_DRILL_UNTIL"),
        ({"DOWNTIME_DRILL_RATIO": "0.05", "DOWNTIME_DRILL_UNTIL": "tomorrow"}, "DOWNTIME_DRILL_UNTIL='tomorrow'"),
        (
            {"DOWNTIME_DRILL_RATIO": "0.05", "DOWNTIME_DRILL_UNTIL": "2999-01-01T00:00:00"},
            "use an ISO 8601 time with its zone",
        ),
    ],
    ids=["above-ceiling", "not-a-number", "no-end", "malformed-end", "end-without-zone"],
)
def test_bad_drills_are_refused_in_one_line(environ, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        drill_from_environment(environ)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    if "above" in message or environ.get("DOWNTIME_DRILL_RATIO") == "0.5":
        assert str(MAX_DRILL_RATIO) in str(raised.value)


def test_check_deploy_refuses_a_drill_that_has_ended(settings):
    settings.DOWNTIME_DRILL = Drill(0.05, time.time() - 60)
    (error,) = drill_has_not_ended()
    assert error.id == "error_budget.E001" and "is in the past" in error.msg
    settings.DOWNTIME_DRILL = Drill(0.05, time.time() + 3600)
    assert drill_has_not_ended() == []


@pytest.mark.django_db
def test_drilled_requests_answer_503_with_the_header_and_probes_never_do(client):
    from prometheus_client import REGISTRY

    def served_503() -> float:
        labels = {"status": "503", "view": "index", "method": "GET"}
        return REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", labels) or 0

    before = served_503()
    with override_settings(DOWNTIME_DRILL=Drill(1.0, time.time() + 3600)):
        response = client.get("/")
        assert response.status_code == 503 and response[DRILL_HEADER].startswith("until=")
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    assert served_503() == before + 1, "the drilled 503 is counted like any other"


@pytest.mark.django_db
def test_an_ended_drill_drills_nothing(client):
    with override_settings(DOWNTIME_DRILL=Drill(1.0, time.time() - 1)):
        assert client.get("/").status_code == 200


def test_an_end_with_a_lowercase_zone_is_read_as_rfc_3339_allows():
    assert parse_end("2026-12-02t18:00:00z") == parse_end("2026-12-02T18:00:00Z")


def test_a_drill_more_than_a_day_away_is_refused_by_check_deploy(settings):
    from service_runtime.error_budget.drill import MAX_DRILL_HOURS

    assert MAX_DRILL_HOURS == 24, "the documented bound"
    settings.DOWNTIME_DRILL = Drill(1.0, time.time() + 25 * 3600)
    (error,) = drill_has_not_ended()
    assert error.id == "error_budget.E002" and "more than 24 hours away" in error.msg
    settings.DOWNTIME_DRILL = Drill(1.0, time.time() + 23 * 3600)
    assert drill_has_not_ended() == []


@pytest.mark.django_db
def test_a_process_started_with_a_drill_more_than_a_day_away_drills_nothing(client):
    with override_settings(DOWNTIME_DRILL=Drill(1.0, time.time() + 25 * 3600)):
        assert client.get("/").status_code == 200, "a ratio of 1 would drill every request"


def test_a_bad_drill_setting_is_one_line_from_manage_py(manage, production_env):
    production_env.update(DOWNTIME_DRILL_RATIO="0.05", DOWNTIME_DRILL_UNTIL="tomorrow")
    result = manage("check", "--deploy", env=production_env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ImproperlyConfigured: DOWNTIME_DRILL_UNTIL='tomorrow' is not allowed: use an ISO 8601 time with its zone,"
        " e.g. 2026-12-02T18:00:00Z"
    ], result.stderr
