from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}"

    def ready(self) -> None:
        # Registered here, not by the metrics AppConfig, so that the check that
        # catches a stock django_prometheus AppConfig still runs when one is used.
        from {{ cookiecutter.project_slug }}.metrics import checks  # noqa: F401
