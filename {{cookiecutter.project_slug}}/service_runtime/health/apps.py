from django.apps import AppConfig


class HealthConfig(AppConfig):
    """Probes and the deployment checks of ``manage.py check``.

    The metrics checks are registered here, not by the metrics AppConfig, so that the
    check that catches a stock django_prometheus AppConfig still runs when one is used.
    """

    name = "service_runtime.health"
    label = "service_runtime_health"  # not "health": the team may name its package so

    def ready(self) -> None:
        from service_runtime.request_metrics import checks  # noqa: F401
