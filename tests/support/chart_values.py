"""Value sets of the baked chart that several test modules render: one definition each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# Every optional object on: ingress with TLS, autoscaling, a NetworkPolicy, a PodMonitor
# in place of the ServiceMonitor, tracing (the pod's own env entries).
EVERY_OPTIONAL_OBJECT = {
    "serviceMonitor": {"enabled": False},
    "podMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"labels": {"release": "kube-prometheus-stack"}},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "orders.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "orders-tls", "hosts": ["orders.example.com"]}],
    },
    "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 12},
    "networkPolicy": {"enabled": True},
    "tracing": {"endpoint": "http://otel-collector.observability:4318"},
}
# One port per pod, found by a Prometheus without the operator through pod annotations.
AGGREGATED_WITH_ANNOTATIONS = {
    "env": {"config": {"METRICS_MODE": "aggregated"}},
    "scrapeAnnotations": True,
    "networkPolicy": {"enabled": True},
}

# Kubernetes version whose OpenAPI schemas kubernetes-validate checks the objects against.
KUBERNETES_VERSION = "1.33"

# Bakes of several shapes, and values a user sets at install time on the default bake.
BAKES = {
    "one-worker": {"web_concurrency": "1"},
    "default": {},
    "five-workers": {"web_concurrency": "5", "metrics_start_port": "9200", "http_port": "8080"},
    "twelve-workers": {"web_concurrency": "12", "metrics_start_port": "20000", "http_port": "8000"},
    "aggregated": {"metrics_mode": "aggregated"},
}
OVERRIDES = {
    "start-30000": {"env": {"config": {"METRICS_START_PORT": 30000}}},
    "twelve-ending-at-65535": {"env": {"config": {"WEB_CONCURRENCY": 12, "METRICS_START_PORT": 65524}}},
    "http-above-range": {"env": {"config": {"WEB_CONCURRENCY": 2, "METRICS_START_PORT": 8000, "HTTP_PORT": 8002}}},
    "aggregated-sixteen-workers": {"env": {"config": {"METRICS_MODE": "aggregated", "WEB_CONCURRENCY": 16}}},
    # One port in use, so a start port a per-worker range would run past 65535 with is fine.
    "aggregated-at-65535": {"env": {"config": {"METRICS_MODE": "aggregated", "METRICS_START_PORT": 65535}}},
    # The database in a Secret of the user's: migrations run as a pre-install/pre-upgrade Job.
    "existing-secret-migrations-job": {"env": {"existingSecret": "orders-db"}},
}


def cases() -> list:
    bakes = [pytest.param(context, {}, id=f"bake-{name}") for name, context in BAKES.items()]
    overrides = [pytest.param({}, values, id=f"values-{name}") for name, values in OVERRIDES.items()]
    return bakes + overrides


def effective_config(project: Path, values: dict) -> dict:
    """env.config as Helm will see it: the chart defaults, then the user's values."""
    defaults = yaml.safe_load((project / "chart" / "values.yaml").read_text())["env"]["config"]
    return {**defaults, **values.get("env", {}).get("config", {})}
