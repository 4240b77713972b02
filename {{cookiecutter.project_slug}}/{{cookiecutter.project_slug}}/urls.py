"""The service's own routes, included at the site root by config/urls.py. Template updates never touch this file."""

from django.urls import path

from {{ cookiecutter.project_slug }}.views import index

urlpatterns = [
    path("", index, name="index"),
]
