"""The template's tracing: OpenTelemetry per gunicorn worker, exemplars for the metrics, trace ids in the log.

Off unless the ``OTEL_*`` environment asks for it (configuration.py); when off,
no OpenTelemetry module is imported and no request pays for it.
"""
