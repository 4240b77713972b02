"""The chart's ports against the service's own: Deployment, Service and ServiceMonitor agree with
service_runtime/environment/ports.py on every port, over several bakes and install-time values."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.chart_values import cases, effective_config
from tests.support.manifests import app_container, env_configmap, one

# IANA service names, which Kubernetes requires of port names.
PORT_NAME = re.compile(r"^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def service_ports(project: Path, venv: Path, environment: dict) -> list[int]:
    """The ports the service itself derives from this environment: the one source of truth."""
    code = "from service_runtime.environment.ports import metrics_port_range; print(list(metrics_port_range()))"
    result = subprocess.run(
        [venv / "bin/python", "-c", code], cwd=project, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("context", "values"), cases())
def test_deployment_service_and_servicemonitor_agree_with_the_service_on_every_port(
    rendered, baked_venv, context, values
):
    project, docs = rendered(context, values)
    configmap = env_configmap(docs)
    # The service, given the container's environment, says which ports its workers bind.
    ports = service_ports(project, baked_venv, configmap["data"])
    config = effective_config(project, values)
    if config["METRICS_MODE"] == "aggregated":  # one port per pod, whatever the worker count
        expected = {"metrics": ports[0]}
    else:
        expected = {f"metrics-{worker}": port for worker, port in enumerate(ports, start=1)}
        assert len(expected) == int(config["WEB_CONCURRENCY"])

    container_ports = {p["name"]: p["containerPort"] for p in app_container(docs)["ports"]}
    service = one(docs, "Service")
    service_ports_by_name = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    endpoints = [e["port"] for e in one(docs, "ServiceMonitor")["spec"]["endpoints"]]

    assert container_ports.pop("http") == int(configmap["data"]["HTTP_PORT"])
    assert container_ports == expected
    assert {name: port for name, port in service_ports_by_name.items() if name != "http"} == expected
    assert all(p["targetPort"] == p["name"] for p in service["spec"]["ports"])
    assert endpoints == list(expected)


@pytest.mark.parametrize(("context", "values"), cases())
def test_port_names_and_numbers_obey_kubernetes_rules(rendered, context, values):
    _, docs = rendered(context, values)
    for ports in (app_container(docs)["ports"], one(docs, "Service")["spec"]["ports"]):
        names = [p["name"] for p in ports]
        assert len(names) == len(set(names)), "port names must be unique"
        for port in ports:
            assert len(port["name"]) <= 15 and PORT_NAME.match(port["name"]), port["name"]
            assert 1 <= port.get("containerPort", port.get("port")) <= 65535


@pytest.mark.parametrize(("context", "values"), cases())
def test_every_env_config_key_reaches_the_container(rendered, context, values):
    project, docs = rendered(context, values)
    configmap = env_configmap(docs)
    expected = {key: str(value) for key, value in effective_config(project, values).items()}
    # Left empty in values.yaml, it becomes the Service's DNS names (tested on its own below).
    assert expected.pop("DJANGO_ALLOWED_HOSTS") == ""
    data = dict(configmap["data"])
    assert data.pop("DJANGO_ALLOWED_HOSTS")
    # Unless values set it, the release's version for <package>_build_info: the image tag, else appVersion.
    chart = yaml.safe_load((project / "chart" / "Chart.yaml").read_text())
    version = expected.pop("SERVICE_VERSION", None) or values.get("image", {}).get("tag") or chart["appVersion"]
    assert data.pop("SERVICE_VERSION") == str(version)
    assert data == expected
    env_from = app_container(docs)["envFrom"]
    assert env_from[0] == {"configMapRef": {"name": configmap["metadata"]["name"]}}
    assert "secretRef" in env_from[1], "the Secret comes last so that it wins on a clash"


def test_notes_tell_how_many_targets_prometheus_will_scrape(bake):
    text = helm.notes(bake() / "chart", {"replicaCount": 3})
    assert "scrape 4 targets per pod\n(12 in all)" in text
    assert "metrics-4: 9103" in text
    assert "serviceMonitor.labels.release" in text
