"""The exemplar a metric update carries: the trace and span of the request being served.

Only sampled spans give one: an exemplar must lead to a trace the collector was sent.
Imported only when tracing is on (service_runtime.request_metrics.lean picks its recorder at start-up).
"""

from __future__ import annotations

from opentelemetry.trace import get_current_span


def current_exemplar() -> dict[str, str] | None:
    """``{"trace_id", "span_id"}`` of the current sampled span, as W3C trace context spells them; else None."""
    context = get_current_span().get_span_context()
    if not context.trace_flags.sampled:
        return None
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
