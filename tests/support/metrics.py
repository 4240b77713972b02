"""Scraping a worker's metrics port and reading samples with prometheus_client's own parser."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# The SLO counter django-prometheus' after-middleware increments once per response.
RESPONSES = "django_http_responses_total_by_status_view_method_total"


def scrape(port: int, path: str = "/metrics", timeout: float = 5) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.read().decode()


def sample_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def responses(text: str, view: str, **labels: str) -> float:
    return sample_value(text, RESPONSES, view=view, **labels)
