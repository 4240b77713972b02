"""What the template owns in this service: the metrics slots and ports, request and database metrics,
tracing, probes and the error budget. The team's code lives in its own package and imports from here;
nothing here imports the team's code or ``config`` (pyproject.toml's import contracts)."""
