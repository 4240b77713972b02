"""Value sets of the baked chart that several test modules render: one definition each."""

from __future__ import annotations

# Every optional object on: ingress with TLS, autoscaling, a NetworkPolicy, a PodMonitor
# in place of the ServiceMonitor.
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
}
# One port per pod, found by a Prometheus without the operator through pod annotations.
AGGREGATED_WITH_ANNOTATIONS = {
    "env": {"config": {"METRICS_MODE": "aggregated"}},
    "scrapeAnnotations": True,
    "networkPolicy": {"enabled": True},
}
