from django.apps import AppConfig


class ServiceConfig(AppConfig):
    """The service's own app: its views, models and URLs live in this package."""

    name = "{{ cookiecutter.project_slug }}"
