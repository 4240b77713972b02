"""Which series a PromQL expression selects, read from promql-parser's syntax tree."""

from __future__ import annotations

import re

import promql_parser

# {__name__=~"a_total|b_total"}: a selector of several metrics by name, spelled out.
_NAME_ALTERNATIVES = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\|[a-zA-Z_:][a-zA-Z0-9_:]*)*")

_CHILDREN = ("expr", "lhs", "rhs", "vector_selector", "param")


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) for every series selector in ``expression``."""
    found: list[tuple[str, set[str]]] = []

    def walk(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers.matchers
            labels = {matcher.name for matcher in matchers if matcher.name != "__name__"}
            names = [node.name] if node.name else [m.value for m in matchers if m.name == "__name__"]
            for name in names:
                if not _NAME_ALTERNATIVES.fullmatch(name):
                    raise ValueError(f"{expression!r}: selects metrics by the pattern {name!r}, not by names")
                found.extend((alternative, labels) for alternative in name.split("|"))
            return
        for child in [getattr(node, attr, None) for attr in _CHILDREN] + list(getattr(node, "args", None) or []):
            if child is not None and type(child).__module__.startswith("promql_parser"):
                walk(child)

    walk(promql_parser.parse(expression))
    return found


def grafana_query(query: str, namespace: str, job: str, rate_interval: str = "5m") -> str:
    """A dashboard query with its variables filled in, as Grafana sends it to Prometheus."""
    return query.replace("$namespace", namespace).replace("$job", job).replace("$__rate_interval", rate_interval)


def ranges(expression: str) -> list[tuple[str, float, bool]]:
    """(metric name, range in seconds, inside a subquery) for every range ``expression`` reads.

    A subquery's own range is listed under the names it reads, each inside it.
    """
    found: list[tuple[str, float, bool]] = []

    def walk(node, in_subquery: bool) -> None:
        if isinstance(node, promql_parser.MatrixSelector):
            vector = node.vector_selector
            by_name = [m.value for m in vector.matchers.matchers if m.name == "__name__"]
            names = [vector.name] if vector.name else by_name
            seconds = node.range.total_seconds()
            found.extend((name, seconds, in_subquery) for alternatives in names for name in alternatives.split("|"))
            return
        if isinstance(node, promql_parser.SubqueryExpr):
            found.extend((name, node.range.total_seconds(), True) for name, _ in selectors(str(node.expr)))
            in_subquery = True
        for child in [getattr(node, attr, None) for attr in _CHILDREN] + list(getattr(node, "args", None) or []):
            if child is not None and type(child).__module__.startswith("promql_parser"):
                walk(child, in_subquery)

    walk(promql_parser.parse(expression), False)
    return found


def is_recorded(name: str) -> bool:
    """Recording rules' names carry colons (level:metric:operations); exported metrics never do."""
    return ":" in name
