"""Liveness and readiness answers for the kubelet.

Liveness says only that the worker answers: restarting a pod because its
database is down would not bring the database back. Readiness also asks the
database, so a pod that cannot serve is taken out of the Service.
"""

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse


def liveness(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> HttpResponse:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": type(error).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
