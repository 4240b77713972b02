"""Production settings plus the /__fault__/ views, for end-to-end tests of the SLO rules only.

The views answer 5xx and stall workers on demand, without authentication, so
production settings refuse FAULT_INJECTION_VIEWS and the chart accepts no
settings module but production; `manage.py check --deploy` warns here too.
"""

from config.settings.production import *  # noqa: F403

FAULT_INJECTION_VIEWS = True
