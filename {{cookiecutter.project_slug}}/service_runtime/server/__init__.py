"""gunicorn's side of the runtime: its settings read from the environment, and its hooks."""
