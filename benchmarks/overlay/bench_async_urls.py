"""Benchmark only: the home page as an async view, so an ASGI request runs on the event loop alone."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


async def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("", home, name="home")]
