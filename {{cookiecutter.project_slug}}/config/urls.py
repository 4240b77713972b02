from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The service's own routes: {{ cookiecutter.project_slug }}/urls.py, which the template never changes.
    path("", include("{{ cookiecutter.project_slug }}.urls")),
    path("admin/", admin.site.urls),
]

if settings.METRICS_URL_EXPORTER:
    urlpatterns.append(path("", include("django_prometheus.urls")))

if settings.FAULT_INJECTION_VIEWS:
    urlpatterns.append(path("__fault__/", include("service_runtime.request_metrics.faults")))
