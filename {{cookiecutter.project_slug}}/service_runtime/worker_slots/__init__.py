"""The template's worker-slot runtime: durable slots, their metric files, the exporter and the aggregator.

Standard library and prometheus_client only, never Django (pyproject.toml's import
contracts keep it so): gunicorn's master imports it before Django may load.
"""
