"""Latency histogram buckets with the SLO threshold among their bounds.

The latency SLO counts requests faster than the threshold from the bucket whose
upper bound is the threshold; without such a bucket Prometheus could only
interpolate. The other bounds are django-prometheus' defaults (copied, not
imported: importing django_prometheus before settings load freezes its settings).
"""

DEFAULT_BOUNDS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 25.0, 50.0, 75.0)


def latency_buckets(slo_threshold_seconds: float) -> tuple[float, ...]:
    return (*sorted({*DEFAULT_BOUNDS, float(slo_threshold_seconds)}), float("inf"))
