"""The baked Helm chart's objects, rendered by real Helm and checked against Kubernetes' and prometheus-operator's
schemas; its ports are in test_chart_ports.py, its cluster shapes in test_chart_clusters.py."""

from __future__ import annotations

import json
import re
import subprocess

import kubernetes_validate
import pytest
from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

from tests.support import helm
from tests.support.chart_values import BAKES, KUBERNETES_VERSION, cases
from tests.support.manifests import app_container, env_configmap, one

REJECTED = {
    "zero-workers": ({"WEB_CONCURRENCY": 0}, "at '/env/config/WEB_CONCURRENCY': minimum: got 0, want 1"),
    "workers-not-integer": ({"WEB_CONCURRENCY": "four"}, "at '/env/config/WEB_CONCURRENCY': got string, want integer"),
    "fractional-workers": ({"WEB_CONCURRENCY": 2.5}, "at '/env/config/WEB_CONCURRENCY': got number, want integer"),
    "too-many-workers": ({"WEB_CONCURRENCY": 65}, "at '/env/config/WEB_CONCURRENCY': maximum: got 65, want 64"),
    "privileged-start-port": ({"METRICS_START_PORT": 80}, "at '/env/config/METRICS_START_PORT': minimum: got 80"),
    "start-port-too-high": ({"METRICS_START_PORT": 70000}, "at '/env/config/METRICS_START_PORT': maximum: got 70,000"),
    "range-past-65535": (
        {"METRICS_START_PORT": 65534},
        "METRICS_START_PORT=65534 with WEB_CONCURRENCY=4 needs ports 65534..65537, past 65535;"
        " lower METRICS_START_PORT to at most 65532",
    ),
    "http-inside-range": (
        {"HTTP_PORT": 9102},
        "HTTP_PORT=9102 lies inside the metrics ports 9100..9103 (METRICS_START_PORT=9100, WEB_CONCURRENCY=4)",
    ),
    "bad-env-name": ({"NOT-A-NAME": "x"}, "invalid propertyName 'NOT-A-NAME'"),
    "unknown-metrics-mode": ({"METRICS_MODE": "per_pod"}, "at '/env/config/METRICS_MODE': value must be one of"),
    "unknown-metrics-profile": ({"METRICS_PROFILE": "bogus"}, "at '/env/config/METRICS_PROFILE': value must be one of"),
    "dev-settings": (
        {"DJANGO_SETTINGS_MODULE": "config.settings.dev"},
        "at '/env/config/DJANGO_SETTINGS_MODULE': value must be 'config.settings.production'",
    ),
    "any-host": (
        {"DJANGO_ALLOWED_HOSTS": "example.com, *"},
        'env.config.DJANGO_ALLOWED_HOSTS="example.com, *" lets any Host header through',
    ),
    "timeout-past-a-day": ({"GUNICORN_TIMEOUT": 99999999999}, "at '/env/config/GUNICORN_TIMEOUT': maximum"),
    "timeout-zero": ({"GUNICORN_TIMEOUT": 0}, "at '/env/config/GUNICORN_TIMEOUT': minimum"),
    "access-log-word": ({"GUNICORN_ACCESS_LOG": "maybe"}, "at '/env/config/GUNICORN_ACCESS_LOG': value must be one of"),
    "bind-address-hostname": ({"METRICS_BIND_ADDRESS": "example.com"}, "at '/env/config/METRICS_BIND_ADDRESS'"),
    "kubernetes-wildcard-host": (
        {"DJANGO_ALLOWED_HOSTS": "*.example.com"},
        'env.config.DJANGO_ALLOWED_HOSTS="*.example.com": Django never matches "*.example.com"; write the'
        ' wildcard as ".example.com"',
    ),
}


# Values outside env.config that are refused, and the line that says why.
REJECTED_VALUES = {
    "service-port-on-a-metrics-port": (
        {"service": {"port": 9101}},
        "service.port=9101 is also the Service port of metrics-2: choose a service.port outside the metrics ports",
    ),
    "scrape-timeout-over-interval": (
        {"serviceMonitor": {"interval": "10s", "scrapeTimeout": "1m"}},
        "serviceMonitor.scrapeTimeout=1m is longer than serviceMonitor.interval=10s",
    ),
    "pod-label-overrides-selector": (
        {"podLabels": {"app.kubernetes.io/instance": "other"}},
        "podLabels.app.kubernetes.io/instance: the Deployment and Service select the pods by this label",
    ),
    "typo-at-top-level": ({"replicaCont": 3}, "additional properties 'replicaCont' not allowed"),
    "typo-in-serviceMonitor": ({"serviceMonitor": {"intervall": "5s"}}, "'intervall' not allowed"),
    "typo-in-prometheusRule": ({"prometheusRule": {"enable": False}}, "'enable' not allowed"),
    "typo-in-dashboard": ({"dashboard": {"label": {}}}, "'label' not allowed"),
    "typo-in-env": ({"env": {"secretkey": "x"}}, "'secretkey' not allowed"),
    "typo-in-tracing": ({"tracing": {"endpont": "http://c:4318"}}, "'endpont' not allowed"),
    "tracing-endpoint-without-scheme": (
        {"tracing": {"endpoint": "otel-collector:4318"}},
        "at '/tracing/endpoint': 'otel-collector:4318' does not match pattern",
    ),
    "tracing-unknown-sampler": ({"tracing": {"sampler": "sometimes"}}, "at '/tracing/sampler': value must be one of"),
    "tracing-ratio-above-one": ({"tracing": {"ratio": 2}}, "at '/tracing/ratio': maximum: got 2, want 1"),
    "tracing-set-twice": (
        {"tracing": {"endpoint": "http://c:4318"}, "env": {"config": {"OTEL_TRACES_SAMPLER": "always_on"}}},
        "env.config.OTEL_TRACES_SAMPLER is set and so is tracing.endpoint, which sets it too: set it through"
        " tracing.* only",
    ),
    "migrations-job-without-a-database-secret": (
        {"migrations": {"mode": "job"}},
        "migrations.mode=job needs env.existingSecret with DATABASE_URL: the Job runs before this chart's own Secret",
    ),
    "typo-in-migrations": ({"migrations": {"initContainer": True}}, "'initContainer' not allowed"),
    "unknown-migrations-mode": ({"migrations": {"mode": "helm"}}, "at '/migrations/mode': value must be one of"),
    "unknown-scrape-protocol": ({"scrapeProtocols": ["Text"]}, "at '/scrapeProtocols/0': value must be one of"),
}


@pytest.mark.parametrize(("context", "values"), cases())
def test_core_objects_pass_kubernetes_strict_schemas(rendered, context, values):
    _, docs = rendered(context, values)
    core = [doc for doc in docs if doc["apiVersion"] != "monitoring.coreos.com/v1"]
    expected = {"Deployment", "Service", "ConfigMap", "ServiceAccount", "Pod"}
    expected |= {"Job"} if values.get("env", {}).get("existingSecret") else {"Secret"}
    assert {doc["kind"] for doc in core} >= expected
    for doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(("context", "values"), cases())
def test_servicemonitor_passes_the_prometheus_operator_schema(rendered, context, values):
    _, docs = rendered(context, values)
    monitor = one(docs, "ServiceMonitor")
    model = ServiceMonitor.model_validate(monitor)
    # The models ignore unknown fields; a lossless round trip proves there were none.
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == monitor


def test_a_bad_object_is_caught_by_the_validators(rendered):
    """The validators above would fail on a real mistake."""
    _, docs = rendered({}, {})
    deployment = json.loads(json.dumps(one(docs, "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    monitor = json.loads(json.dumps(one(docs, "ServiceMonitor")))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    assert ServiceMonitor.model_validate(monitor).model_dump(by_alias=True, exclude_none=True, mode="json") != monitor


def test_selectors_connect_servicemonitor_to_service_to_pods(rendered):
    _, docs = rendered({}, {"serviceMonitor": {"labels": {"release": "kube-prometheus-stack"}}})
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(docs, "Service")
    monitor = one(docs, "ServiceMonitor")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["apps"]}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert all(e["interval"] == "30s" and e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])


def test_servicemonitor_can_be_disabled(rendered):
    _, docs = rendered({}, {"serviceMonitor": {"enabled": False}})
    assert [doc for doc in docs if doc["kind"] == "ServiceMonitor"] == []


def test_every_object_carries_the_recommended_labels(rendered):
    project, docs = rendered({}, {})
    chart = project.name.replace("_", "-")
    for doc in docs:
        labels = doc["metadata"]["labels"]
        is_helm_test = doc["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
        # The helm test pod must not match the selector (name + instance) of the Service, PDB and NetworkPolicy.
        assert labels["app.kubernetes.io/name"] == (f"{chart}-test" if is_helm_test else chart)
        assert labels["app.kubernetes.io/instance"] == "rel"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == f"{project.name.replace('_', '-')}-0.1.0"


def test_pods_are_hardened_and_probed(rendered):
    _, docs = rendered({}, {})
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"] + pod["initContainers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert container["resources"]["limits"]["memory"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    app = pod["containers"][0]
    assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert pod["initContainers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_config_checksum_rolls_pods_when_the_environment_changes(rendered):
    def checksum(values: dict) -> str:
        return one(rendered({}, values)[1], "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    default = checksum({})
    assert re.fullmatch(r"[0-9a-f]{64}", default), default  # a sha256 of the rendered ConfigMap
    assert checksum({"env": {"config": {"DJANGO_LOG_LEVEL": "DEBUG"}}}) != default
    assert checksum({"env": {"config": {"WEB_CONCURRENCY": 5}}}) != default
    # A value outside the pod's environment renders another Deployment but the same ConfigMap: no roll.
    assert checksum({"replicaCount": 3}) == default


def test_existing_secret_replaces_the_generated_one(rendered):
    _, docs = rendered({}, {"env": {"existingSecret": "orders-prod"}})
    assert [doc for doc in docs if doc["kind"] == "Secret"] == []
    assert app_container(docs)["envFrom"][1] == {"secretRef": {"name": "orders-prod"}}


def test_helm_test_pod_checks_the_http_port_and_every_metrics_port(rendered):
    _, docs = rendered({}, {"env": {"config": {"WEB_CONCURRENCY": 3}}})
    pod = one(docs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = pod["spec"]["containers"][0]["command"]
    # The check is the baked health package's module (tests/test_workers.py runs it against real workers).
    assert command == [
        "python",
        "-m",
        "service_runtime.health.check_ports",
        "rel-orders-service",
        "80",
        "9100",
        "9101",
        "9102",
    ]
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("context", BAKES.values(), ids=BAKES.keys())
def test_chart_is_helm_lint_clean(bake, context):
    assert helm.lint(bake(**context) / "chart") == []


def test_the_baked_chart_lint_refuses_what_helm_template_refuses(bake, baked_venv, tmp_path):
    """L10: `helm lint --strict` reports the helpers' `fail` only at INFO; scripts/lint_chart.py renders too."""
    project = bake()
    lint = [baked_venv / "bin/python", "scripts/lint_chart.py"]
    assert subprocess.run(lint, cwd=project, capture_output=True, text=True, timeout=120).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("env:\n  config:\n    METRICS_START_PORT: 65534\n")
    assert helm.lint(project / "chart", {"env": {"config": {"METRICS_START_PORT": 65534}}}) == [], "Helm's own lint"
    result = subprocess.run([*lint, str(bad)], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}: helm template refuses these values: execution error at"
        + result.stderr.split("execution error at", 1)[1].rstrip("\n")
    ]
    assert "METRICS_START_PORT=65534 with WEB_CONCURRENCY=4 needs ports 65534..65537, past 65535" in result.stderr


def test_chart_is_named_after_the_slug_in_kubernetes_spelling_with_namespaced_helpers(bake):
    import yaml

    project = bake(project_name="Billing Service")
    chart = project / "chart"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "billing-service"
    assert 'define "billing-service.metricsPorts"' in (chart / "templates" / "_ports.tpl").read_text()
    assert 'define "billing-service.fullname"' in (chart / "templates" / "_helpers.tpl").read_text()
    assert "__chart__" not in "".join(p.read_text() for p in chart.rglob("*") if p.is_file())
    # The hook renames quoted helper names: a template comment quoting one would be rewritten into nonsense.
    comments = re.findall(r"\{\{/\*(.*?)\*/\}\}", "".join(p.read_text() for p in chart.glob("templates/*.tpl")), re.S)
    assert comments and not [comment for comment in comments if '"billing-service.' in comment]


@pytest.mark.parametrize(("config", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_bad_values_are_rejected_with_a_clear_message(bake, config, message):
    with pytest.raises(helm.HelmFailed) as raised:
        helm.render(bake() / "chart", {"env": {"config": config}})
    assert message in str(raised.value)


@pytest.mark.parametrize(("values", "message"), REJECTED_VALUES.values(), ids=REJECTED_VALUES.keys())
def test_bad_values_outside_env_are_rejected_with_a_clear_message(bake, values, message):
    with pytest.raises(helm.HelmFailed) as raised:
        helm.render(bake() / "chart", values)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "key",
    ["GUNICORN_MAX_REQUESTS", "DJANGO_SECURE_HSTS_SECONDS", "GUNICORN_MAX_REQUESTS_JITTER"],
)
def test_large_whole_numbers_reach_the_environment_as_digits(bake, key):
    docs = helm.render(bake() / "chart", {"env": {"config": {key: 31536000}}})
    assert env_configmap(docs)["data"][key] == "31536000"
    docs = helm.render(bake() / "chart", {"env": {"config": {key: 1000000}}})
    assert env_configmap(docs)["data"][key] == "1000000"


def test_allowed_hosts_default_to_the_services_dns_names(bake):
    docs = helm.render(bake() / "chart", {}, release="shop", namespace="apps")
    service = one(docs, "Service")["metadata"]["name"]
    assert env_configmap(docs)["data"]["DJANGO_ALLOWED_HOSTS"] == (
        f"{service},{service}.apps,{service}.apps.svc,{service}.apps.svc.cluster.local"
    )
    chosen = helm.render(bake() / "chart", {"env": {"config": {"DJANGO_ALLOWED_HOSTS": "shop.example.com"}}})
    assert env_configmap(chosen)["data"]["DJANGO_ALLOWED_HOSTS"] == "shop.example.com"


def test_an_ingress_wildcard_host_is_allowed_in_djangos_spelling(bake):
    paths = [{"path": "/", "pathType": "Prefix"}]
    hosts = [{"host": "*.example.com", "paths": paths}, {"host": "shop.example.org", "paths": paths}]
    ingress = {"enabled": True, "hosts": hosts}
    docs = helm.render(bake() / "chart", {"ingress": ingress}, release="shop", namespace="apps")
    hosts = env_configmap(docs)["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    assert hosts[-2:] == [".example.com", "shop.example.org"]


@pytest.mark.parametrize(
    "values", [{"env": {"secretKey": "k" * 50}}, {"env": {"existingSecret": "shop-secrets"}}], ids=["key", "secret"]
)
def test_a_given_secret_renders_the_same_manifests_every_time(bake, values):
    """Under helm template (Argo CD, Flux) the generated key changes on every render; a given one does not."""
    first = helm.render(bake() / "chart", values)
    assert helm.render(bake() / "chart", values) == first


def test_a_generated_secret_changes_per_render_and_notes_say_how_to_pin_it(bake):
    renders = [one(helm.render(bake() / "chart", {}), "Secret")["data"] for _ in range(2)]
    assert renders[0] != renders[1], "helm template cannot look the old Secret up"
    notes = helm.notes(bake() / "chart", {})
    assert "set env.existingSecret (a Secret you manage) or env.secretKey" in notes
    assert "DJANGO_SECRET_KEY was generated" not in helm.notes(bake() / "chart", {"env": {"secretKey": "k" * 50}})


def test_tracing_is_off_unless_an_endpoint_is_given(bake):
    docs = helm.render(bake() / "chart", {})
    assert not [key for key in env_configmap(docs)["data"] if key.startswith("OTEL_")]
    assert "env" not in app_container(docs)


def test_tracing_values_reach_the_pods_environment_with_the_pods_name(bake):
    values = {
        "tracing": {"endpoint": "https://otel.example.com:4318", "ratio": 0.25},
        "env": {"config": {"OTEL_RESOURCE_ATTRIBUTES": "team=payments"}},
    }
    docs = helm.render(bake() / "chart", values, namespace="shop")
    data = env_configmap(docs)["data"]
    assert {key: value for key, value in data.items() if key.startswith("OTEL_") and "RESOURCE" not in key} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
    }
    env = {entry["name"]: entry for entry in app_container(docs)["env"]}
    assert env["K8S_POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # Kubernetes expands $(K8S_POD_NAME): it is defined above, in the same container.
    assert env["OTEL_RESOURCE_ATTRIBUTES"]["value"] == (
        "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=shop,team=payments"
    )
    assert list(env) == ["K8S_POD_NAME", "OTEL_RESOURCE_ATTRIBUTES"]


def test_monitors_ask_for_openmetrics_first_which_carries_exemplars(bake):
    docs = helm.render(bake() / "chart", {})
    assert one(docs, "ServiceMonitor")["spec"]["scrapeProtocols"][0] == "OpenMetricsText1.0.0"
    pods = helm.render(bake() / "chart", {"serviceMonitor": {"enabled": False}, "podMonitor": {"enabled": True}})
    assert one(pods, "PodMonitor")["spec"]["scrapeProtocols"][0] == "OpenMetricsText1.0.0"


MIGRATIONS = {
    "demo-sqlite-init-container": ({}, "initContainer"),
    "secret-database-job": ({"env": {"existingSecret": "orders-db"}}, "job"),
    "secret-database-forced-init-container": (
        {"env": {"existingSecret": "orders-db"}, "migrations": {"mode": "initContainer"}},
        "initContainer",
    ),
    "migrated-elsewhere": ({"env": {"existingSecret": "orders-db"}, "migrations": {"mode": "none"}}, None),
}


@pytest.mark.parametrize(("values", "where"), MIGRATIONS.values(), ids=MIGRATIONS.keys())
def test_migrations_run_once_per_release_as_a_job_when_the_database_is_shared(bake, values, where):
    docs = helm.render(bake() / "chart", values)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    jobs = [doc for doc in docs if doc["kind"] == "Job"]
    assert ("initContainers" in pod) == (where == "initContainer")
    assert len(jobs) == (where == "job")


def test_the_migrations_job_runs_before_the_release_as_the_pods_would(bake):
    docs = helm.render(
        bake() / "chart", {"env": {"existingSecret": "orders-db"}, "migrations": {"job": {"backoffLimit": 0}}}
    )
    (job,) = [doc for doc in docs if doc["kind"] == "Job"]
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 600)
    pod, app_pod = job["spec"]["template"]["spec"], one(docs, "Deployment")["spec"]["template"]["spec"]
    (migrate,), app = pod["containers"], app_pod["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == app_pod["securityContext"]
    for key in ("image", "securityContext", "resources", "volumeMounts"):
        assert migrate[key] == app[key], key
    # A hook runs before the release's ConfigMap and Secret exist: the same environment, written out.
    assert {entry["name"]: entry["value"] for entry in migrate["env"]} == env_configmap(docs)["data"]
    assert migrate["envFrom"] == [{"secretRef": {"name": "orders-db"}}]
    # No Service routes to it.
    selector = one(docs, "Service")["spec"]["selector"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= labels.items()
