"""What the service reads from its environment: typed readers, and the metrics ports built from them.

Below settings, gunicorn.conf.py and the template's Django packages, which all
import it; it imports none of them (pyproject.toml's import contracts), so no
reader is ever reached through a loop.
"""
