"""The chart on the cluster shapes users run, and through the day-2 operations they do.

With and without prometheus-operator's API (Helm's --api-versions), a PodMonitor or pod
annotations instead of the ServiceMonitor, every optional object at once, 1 and 16 workers.
"""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule, ServiceMonitor

from tests.support import helm
from tests.support.chart_values import (
    AGGREGATED_WITH_ANNOTATIONS,
    EVERY_OPTIONAL_OBJECT,
    KUBERNETES_VERSION,
    effective_config,
)
from tests.support.helm import OPERATOR_APIS
from tests.support.manifests import app_container, env_configmap, one

PODMONITOR_ONLY = {"serviceMonitor": {"enabled": False}, "podMonitor": {"enabled": True}}
SHAPES = {
    "no-operator": ({}, ()),
    "operator": ({}, OPERATOR_APIS),
    "podmonitor": (PODMONITOR_ONLY, OPERATOR_APIS),
    "every-optional-object": (EVERY_OPTIONAL_OBJECT, OPERATOR_APIS),
    "aggregated-annotations-no-operator": (AGGREGATED_WITH_ANNOTATIONS, ()),
    "one-worker": ({"env": {"config": {"WEB_CONCURRENCY": 1}}}, OPERATOR_APIS),
    "sixteen-workers": ({"env": {"config": {"WEB_CONCURRENCY": 16}}}, OPERATOR_APIS),
}
MODELS = {"ServiceMonitor": ServiceMonitor, "PodMonitor": PodMonitor, "PrometheusRule": PrometheusRule}
MONITORING = "monitoring.coreos.com/v1"
REJECTED = {
    "servicemonitor-and-podmonitor": (
        {"podMonitor": {"enabled": True}},
        "serviceMonitor.enabled and podMonitor.enabled are both true: Prometheus would scrape every worker twice",
    ),
    "annotations-per-worker": (
        {"scrapeAnnotations": True},
        "scrapeAnnotations=true needs env.config.METRICS_MODE=aggregated: prometheus.io/port names one port per pod,"
        " and per_worker serves WEB_CONCURRENCY=4 ports",
    ),
    "grace-shorter-than-drain": (
        {"terminationGracePeriodSeconds": 20},
        "terminationGracePeriodSeconds=20 is shorter than shutdownDelaySeconds=5 plus GUNICORN_GRACEFUL_TIMEOUT=30",
    ),
    "autoscaling-min-above-max": (
        {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
        "autoscaling.minReplicas=5 is above autoscaling.maxReplicas=3",
    ),
    "autoscaling-without-cpu-request": (
        {"autoscaling": {"enabled": True}, "resources": {"requests": {"cpu": None}}},  # null removes a default
        "autoscaling.enabled needs resources.requests.cpu",
    ),
    "ingress-without-hosts": ({"ingress": {"enabled": True, "hosts": []}}, "ingress.enabled needs at least one entry"),
    "podmonitor-timeout-over-interval": (
        {**PODMONITOR_ONLY, "podMonitor": {"enabled": True, "interval": "10s", "scrapeTimeout": "20s"}},
        "podMonitor.scrapeTimeout=20s is longer than podMonitor.interval=10s",
    ),
    "digest-not-sha256": ({"image": {"digest": "latest"}}, "at '/image/digest'"),
}


@pytest.fixture(scope="module")
def chart(bake):
    return bake() / "chart"


@pytest.fixture(scope="module")
def shapes(chart):
    return {name: helm.render(chart, values, api_versions=apis) for name, (values, apis) in SHAPES.items()}


def kinds(docs: list[dict]) -> set[str]:
    return {doc["kind"] for doc in docs}


def metrics_port_names(docs: list[dict]) -> list[str]:
    return [port["name"] for port in app_container(docs)["ports"] if port["name"] != "http"]


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_lints_strictly(chart, shape):
    values, _ = SHAPES[shape]
    assert helm.lint(chart, values) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_passes_kubernetes_and_operator_schemas(shapes, shape):
    for doc in shapes[shape]:
        if doc["apiVersion"] == MONITORING:
            model = MODELS[doc["kind"]].model_validate(doc)
            # The models ignore unknown fields; a lossless round trip proves there were none.
            assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == doc
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_optional_object_renders_when_asked(shapes):
    assert kinds(shapes["every-optional-object"]) >= {
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "PodMonitor",
        "PrometheusRule",
    }
    assert not {"Ingress", "HorizontalPodAutoscaler", "NetworkPolicy", "PodMonitor"} & kinds(shapes["operator"])


def test_without_the_operator_api_no_monitoring_object_renders_and_notes_say_so(chart, shapes):
    assert [doc["kind"] for doc in shapes["no-operator"] if doc["apiVersion"] == MONITORING] == []
    text = helm.notes(chart, {}, api_versions=())
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert f"SKIPPED: the {kind} was not created: this cluster does not serve {MONITORING} {kind}" in text
        assert f"--api-versions {MONITORING}/{kind}" in text
    assert "PodMonitor" not in text, "not asked for, so not reported"


def test_with_the_operator_api_the_monitoring_objects_render_and_notes_count_targets(chart, shapes):
    assert kinds(shapes["operator"]) >= {"ServiceMonitor", "PrometheusRule"}
    text = helm.notes(chart, {})
    assert "SKIPPED" not in text
    assert "The ServiceMonitor rel-orders-service asks Prometheus to scrape 4 targets per pod\n(8 in all)" in text


def test_assume_operator_api_renders_them_for_a_blind_helm_template(chart):
    docs = helm.render(chart, {"assumeOperatorApi": True}, api_versions=())
    assert {"ServiceMonitor", "PrometheusRule"} <= kinds(docs)
    assert "SKIPPED" not in helm.notes(chart, {"assumeOperatorApi": True}, api_versions=())


def test_only_the_missing_kind_is_skipped(chart):
    apis = ("monitoring.coreos.com/v1/ServiceMonitor",)
    docs = helm.render(chart, {}, api_versions=apis)
    assert [doc["kind"] for doc in docs if doc["apiVersion"] == MONITORING] == ["ServiceMonitor"]
    assert "SKIPPED: the PrometheusRule" in helm.notes(chart, {}, api_versions=apis)


def test_podmonitor_scrapes_every_worker_port_with_the_job_label_the_slo_rules_select(shapes):
    docs = shapes["podmonitor"]
    assert "ServiceMonitor" not in kinds(docs)
    monitor = one(docs, "PodMonitor")
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert [endpoint["port"] for endpoint in endpoints] == metrics_port_names(docs)
    deployment_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= deployment_labels.items()
    rule_text = json.dumps(one(docs, "PrometheusRule"))
    for endpoint in endpoints:
        (relabel,) = endpoint["relabelings"]
        assert relabel == {"action": "replace", "targetLabel": "job", "replacement": "rel-orders-service"}
        assert 'job=\\"rel-orders-service\\"' in rule_text


def test_scrape_annotations_name_the_one_aggregated_port(shapes):
    docs = shapes["aggregated-annotations-no-operator"]
    annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    (metrics_port,) = [port for port in app_container(docs)["ports"] if port["name"] == "metrics"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(metrics_port["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"
    assert (
        "prometheus.io/scrape"
        not in one(shapes["operator"], "Deployment")["spec"]["template"]["metadata"]["annotations"]
    )


def test_release_labels_reach_the_objects_kube_prometheus_stack_selects(chart, shapes):
    labelled = {"release": "kube-prometheus-stack"}
    docs = helm.render(chart, {"serviceMonitor": {"labels": labelled}, "prometheusRule": {"labels": labelled}})
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert one(docs, kind)["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        one(shapes["every-optional-object"], "PodMonitor")["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    )


@pytest.mark.parametrize("shape", ["operator", "one-worker", "sixteen-workers", "aggregated-annotations-no-operator"])
def test_network_policy_admits_exactly_the_metrics_ports_from_prometheus(chart, shape):
    values, apis = SHAPES[shape]
    docs = helm.render(chart, {**values, "networkPolicy": {"enabled": True}}, api_versions=apis)
    http_rule, metrics_rule = one(docs, "NetworkPolicy")["spec"]["ingress"]
    assert [port["port"] for port in http_rule["ports"]] == ["http"]
    assert {"podSelector": {}} in http_rule["from"], "pods of the release's namespace reach HTTP"
    # Expected from the two values alone, not from the chart's own port list.
    config = effective_config(chart.parent, values)
    start, workers = int(config["METRICS_START_PORT"]), int(config["WEB_CONCURRENCY"])
    if config["METRICS_MODE"] == "aggregated":
        expected = {"metrics": start}
    else:
        expected = {f"metrics-{worker}": start + worker - 1 for worker in range(1, workers + 1)}
    assert [port["port"] for port in metrics_rule["ports"]] == list(expected)
    container_ports = {port["name"]: port["containerPort"] for port in app_container(docs)["ports"]}
    assert {name: container_ports.get(name) for name in expected} == expected
    prometheus = metrics_rule["from"][0]
    assert prometheus["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert prometheus["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    test_pod = one(docs, "Pod")["metadata"]["labels"]
    assert metrics_rule["from"][1]["podSelector"]["matchLabels"].items() <= test_pod.items()
    selector = one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert not selector.items() <= test_pod.items(), "the helm test pod is a client, not one of the servers"


def test_autoscaling_hands_replicas_to_the_hpa(shapes):
    docs = shapes["every-optional-object"]
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "rel-orders-service"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert "replicas" not in one(docs, "Deployment")["spec"]


@pytest.mark.parametrize(("values", "expected"), [({"replicaCount": 1}, False), ({"replicaCount": 2}, True)])
def test_a_disruption_budget_exists_whenever_more_than_one_pod_runs(chart, values, expected):
    docs = helm.render(chart, values)
    assert ("PodDisruptionBudget" in kinds(docs)) is expected
    if expected:
        budget = one(docs, "PodDisruptionBudget")["spec"]
        assert budget["maxUnavailable"] == 1
        assert (
            budget["selector"]["matchLabels"].items()
            <= one(docs, "Deployment")["spec"]["selector"]["matchLabels"].items()
        )


def test_pods_spread_across_nodes_and_zones(shapes):
    pod = one(shapes["operator"], "Deployment")["spec"]["template"]["spec"]
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1 for c in spread.values())


def test_termination_waits_for_endpoints_then_drains(chart):
    docs = helm.render(chart, {"shutdownDelaySeconds": 7, "env": {"config": {"GUNICORN_GRACEFUL_TIMEOUT": 20}}})
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert app_container(docs)["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "7"]}}
    assert pod["terminationGracePeriodSeconds"] == 7 + 20 + 5
    explicit = helm.render(chart, {"terminationGracePeriodSeconds": 35})
    assert one(explicit, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 35
    no_delay = helm.render(chart, {"shutdownDelaySeconds": 0})
    assert "lifecycle" not in app_container(no_delay)


def test_ingress_routes_to_http_and_its_hosts_are_allowed(shapes):
    docs = shapes["every-optional-object"]
    ingress = one(docs, "Ingress")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"hosts": ["orders.example.com"], "secretName": "orders-tls"}]
    (path,) = ingress["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "rel-orders-service", "port": {"name": "http"}}
    assert "orders.example.com" in env_configmap(docs)["data"]["DJANGO_ALLOWED_HOSTS"].split(",")


def test_an_image_digest_pins_the_image(chart):
    digest = "sha256:" + "ab" * 32
    docs = helm.render(chart, {"image": {"repository": "registry.example.com/orders", "digest": digest}})
    assert app_container(docs)["image"] == f"registry.example.com/orders@{digest}"


@pytest.mark.parametrize(("values", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_values_that_break_a_cluster_are_refused_with_one_line(chart, values, message):
    with pytest.raises(helm.HelmFailed) as raised:
        helm.render(chart, values)
    assert message in str(raised.value)


def test_upgrading_web_concurrency_rolls_the_pods_and_every_port_list_follows(chart):
    """`helm upgrade --set env.config.WEB_CONCURRENCY=6`: the rendered difference is the whole upgrade."""
    before = helm.render(chart, EVERY_OPTIONAL_OBJECT)
    after_values = {**EVERY_OPTIONAL_OBJECT, "env": {"config": {"WEB_CONCURRENCY": 6}}}
    after = helm.render(chart, after_values)

    def checksum(docs):
        return one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum(before) != checksum(after), "a new checksum rolls the pods onto the new environment"
    assert env_configmap(after)["data"]["WEB_CONCURRENCY"] == "6"
    expected = [f"metrics-{i}" for i in range(1, 7)]
    assert metrics_port_names(after) == expected
    assert [p["name"] for p in one(after, "Service")["spec"]["ports"]][1:] == expected
    assert [e["port"] for e in one(after, "PodMonitor")["spec"]["podMetricsEndpoints"]] == expected
    assert [p["port"] for p in one(after, "NetworkPolicy")["spec"]["ingress"][1]["ports"]] == expected
    with_monitor = helm.render(chart, {"env": {"config": {"WEB_CONCURRENCY": 6}}})
    assert [e["port"] for e in one(with_monitor, "ServiceMonitor")["spec"]["endpoints"]] == expected
    unchanged = helm.render(chart, EVERY_OPTIONAL_OBJECT)
    assert checksum(unchanged) == checksum(before), "an upgrade that changes nothing rolls nothing"
