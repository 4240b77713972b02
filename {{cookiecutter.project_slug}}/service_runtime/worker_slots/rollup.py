"""Families the slot files hold folded into one histogram, served as the families they stand for.

The lean hot path writes one histogram labelled by view, method, status and
transport; its counts and sums are, exactly, the request counter, the response
counter and the latency histogram, each summed over the labels it lacks. A scrape
takes those sums and serves the families, adding to any of their series already
in the files; a folded series with an empty label is left out of the family that
has it. The table lives here, not in ``request_metrics``: the aggregated mode's
exporter imports no Django and serves these files too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample


@dataclass(frozen=True)
class Family:
    """A counter or histogram family served from a folded histogram."""

    name: str  # as prometheus_client registers it: a counter's without ``_total``
    documentation: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Rollup:
    """A histogram held in the files (``source``, never served) and the families it is served as."""

    source: str
    documentation: str
    labels: tuple[str, ...]
    counters: tuple[Family, ...]  # each series: the source's counts, summed over the labels the family lacks
    histograms: tuple[Family, ...]  # each series: the source's buckets, counts and sums, likewise


# The lean profile's request families, under django-prometheus' names, help and label names
# (its labels() calls pass the values in this order).
REQUESTS_BY_VIEW = Family(
    "django_http_requests_total_by_view_transport_method",
    "Count of requests by view, transport, method.",
    ("view", "transport", "method"),
)
RESPONSES_BY_STATUS = Family(
    "django_http_responses_total_by_status_view_method",
    "Count of responses by status, view, method.",
    ("status", "view", "method"),
)
LATENCY_BY_VIEW = Family(
    "django_http_requests_latency_seconds_by_view_method",
    "Histogram of request processing time labelled by view.",
    ("view", "method"),
)
REQUESTS = Rollup(
    source="django_http_requests_folded",
    documentation="Lean's request families in one histogram, split when scraped (service_runtime.worker_slots.rollup).",
    labels=("view", "method", "status", "transport"),
    counters=(REQUESTS_BY_VIEW, RESPONSES_BY_STATUS),
    histograms=(LATENCY_BY_VIEW,),
)

ROLLUPS = (REQUESTS,)

# A sample's place in its family: its name and its labels, sorted by label name.
_SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def fold(metrics: Iterable[Metric], rollups: Iterable[Rollup] = ROLLUPS) -> list[Metric]:
    """``metrics`` as ``MultiProcessCollector.merge(..., accumulate=True)`` returns them (no
    exemplars yet), each folded histogram replaced by the families it stands for."""
    served = {metric.name: metric for metric in metrics}
    for rollup in rollups:
        source = served.pop(rollup.source, None)
        if source is None:
            continue
        for family in rollup.counters:
            _add(served, family, "counter", _summed(source, family, counts_only=True))
        for family in rollup.histograms:
            _add(served, family, "histogram", _summed(source, family, counts_only=False))
    return list(served.values())


def _summed(source: Metric, family: Family, counts_only: bool) -> dict[_SampleKey, float]:
    """The source's samples summed over the labels ``family`` lacks: its counts as a counter's
    samples, or its buckets, counts and sums as a histogram's."""
    totals: dict[_SampleKey, float] = {}
    for sample in source.samples:
        suffix = sample.name[len(source.name) :]
        kept = {name: sample.labels.get(name, "") for name in family.labels}
        if "" in kept.values():  # no value for one of the family's labels: not a series of it
            continue
        if counts_only:
            if suffix != "_count":
                continue
            suffix = "_total"
        elif suffix == "_bucket":
            kept["le"] = sample.labels["le"]
        key = (family.name + suffix, tuple(sorted(kept.items())))
        totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def _add(served: dict[str, Metric], family: Family, kind: str, totals: dict[_SampleKey, float]) -> None:
    """Add ``totals`` to the family's samples (created if the files hold none of its series yet)."""
    if not totals:
        return
    metric = served.get(family.name)
    if metric is None:
        metric = served[family.name] = Metric(family.name, family.documentation, kind)
    values = dict(totals)
    for sample in metric.samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        values[key] = values.get(key, 0.0) + sample.value
    metric.samples = [Sample(name, dict(labels), value) for (name, labels), value in sorted(values.items(), key=_order)]


def _order(item: tuple[_SampleKey, float]) -> tuple[tuple[tuple[str, str], ...], int, float]:
    """Series by series; within one, buckets by bound, then the count, then the sum."""
    (name, labels), _ = item
    series = tuple(label for label in labels if label[0] != "le")
    bound = float(dict(labels).get("le", "inf"))
    return series, (0 if name.endswith("_bucket") else 1 if name.endswith("_count") else 2), bound
