from django.http import HttpRequest, JsonResponse


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"service": "{{ cookiecutter.project_slug }}", "status": "ok"})
