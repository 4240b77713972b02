"""Which series a PromQL expression selects, read from promql-parser's syntax tree."""

from __future__ import annotations

import promql_parser

_CHILDREN = ("expr", "lhs", "rhs", "vector_selector", "param")


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) for every series selector in ``expression``."""
    found: list[tuple[str, set[str]]] = []

    def walk(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, {matcher.name for matcher in node.matchers.matchers}))
            return
        for child in [getattr(node, attr, None) for attr in _CHILDREN] + list(getattr(node, "args", None) or []):
            if child is not None and type(child).__module__.startswith("promql_parser"):
                walk(child)

    walk(promql_parser.parse(expression))
    return found


def grafana_query(query: str, namespace: str, job: str, rate_interval: str = "5m") -> str:
    """A dashboard query with its variables filled in, as Grafana sends it to Prometheus."""
    return query.replace("$namespace", namespace).replace("$job", job).replace("$__rate_interval", rate_interval)
