"""Every metrics port names the build it serves, in both metrics modes."""

import pytest
from prometheus_client import generate_latest

from service_runtime.worker_slots.build_info import NAME, BadBuildLabel, BuildInfoCollector, build_labels
from service_runtime.worker_slots.collectors import aggregated_registry, slot_registry
from service_runtime.worker_slots.slots import claim_slot


def test_the_build_comes_from_the_environment_and_defaults_to_unknown():
    assert build_labels({"SERVICE_VERSION": "1.4.2", "SERVICE_COMMIT": "0a1b2c"}) == ("1.4.2", "0a1b2c")
    assert build_labels({}) == ("unknown", "unknown")
    assert build_labels({"SERVICE_VERSION": "  "}) == ("unknown", "unknown")


@pytest.mark.parametrize(
    ("value", "message"),
    [("1.0\nrc1", "SERVICE_VERSION='1.0\\nrc1' is not allowed"), ("v" * 129, "use at most 128 printable characters")],
    ids=["line-break", "too-long"],
)
def test_a_label_no_scrape_should_carry_is_refused_in_one_line(value, message):
    with pytest.raises(BadBuildLabel) as raised:
        build_labels({"SERVICE_VERSION": value})
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("mode", ["per_worker", "aggregated"])
def test_both_modes_serve_the_build(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("SERVICE_VERSION", "2.0.1")
    monkeypatch.setenv("SERVICE_COMMIT", "deadbeef")
    registry = slot_registry(claim_slot(tmp_path, 2)) if mode == "per_worker" else aggregated_registry(tmp_path)
    text = generate_latest(registry).decode()
    assert NAME + '{commit="deadbeef",version="2.0.1"} 1.0' in text


def test_the_collector_is_constant():
    collector = BuildInfoCollector({"SERVICE_VERSION": "3"})
    (first,), (second,) = list(collector.collect()), list(collector.collect())
    assert first.samples == second.samples
