"""Which Prometheus series are this service's, as the chart labels them."""

# The release's full name, which the chart makes the job label, when the release is
# named like the chart (`helm install {{ cookiecutter.__chart_name }} chart`).
DEFAULT_JOB = "{{ cookiecutter.__chart_name }}"
# The SLO period the chart's rules were baked with (slo.periodDays).
PERIOD_DAYS = {{ cookiecutter.slo_period_days }}
