"""Trace ids in log lines, so a line, its trace and an exemplar point at one another.

Settings' LOGGING puts this filter on the console handler and ``%(trace_context)s``
in the format: `` trace_id=<32 hex> span_id=<16 hex>`` inside a traced request,
empty otherwise and whenever tracing is off.
"""

from __future__ import annotations

import logging

from service_runtime.tracing import provider


class TraceContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_context = ""
        if provider.ACTIVE is not None:  # no OpenTelemetry import, and no cost, when tracing is off
            from opentelemetry.trace import get_current_span

            context = get_current_span().get_span_context()
            if context.is_valid:
                record.trace_context = f" trace_id={context.trace_id:032x} span_id={context.span_id:016x}"
        return True
