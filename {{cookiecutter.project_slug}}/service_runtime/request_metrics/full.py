"""The full profile's closing middleware: django-prometheus' own, labelled and timed as lean is.

Two departures, both so a client cannot change what the SLOs read: every ``method``
label goes through django-prometheus' own folding of unknown methods (its latency
histogram takes ``request.method`` as sent, so ``curl -X M123`` made a new series),
and a view's exception is timed once, by ``process_response`` on the 500 that
Django makes of it, not a second time in ``process_exception``.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import PrometheusAfterMiddleware


class FullAfterMiddleware(PrometheusAfterMiddleware):  # type: ignore[misc]  # django-prometheus is untyped
    def label_metric(
        self, metric: Any, request: HttpRequest, response: HttpResponse | None = None, **labels: Any
    ) -> Any:
        if labels.get("method") == request.method:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response=response, **labels)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        self.label_metric(self.metrics.exceptions_by_type, request, type=type(exception).__name__).inc()
        if request.resolver_match is not None:
            name = request.resolver_match.view_name or "<unnamed view>"
            self.label_metric(self.metrics.exceptions_by_view, request, view=name).inc()
