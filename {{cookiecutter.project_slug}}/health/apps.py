from django.apps import AppConfig


class HealthConfig(AppConfig):
    """Probes and the deployment checks of ``manage.py check``.

    The metrics checks are registered here, not by the metrics AppConfig, so that the
    check that catches a stock django_prometheus AppConfig still runs when one is used.
    """

    name = "health"

    def ready(self) -> None:
        from request_metrics import checks  # noqa: F401
