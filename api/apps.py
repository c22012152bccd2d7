from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "GitHub-compatible packages REST API"

    def ready(self):
        # drf-spectacular finds the authentication extension by its class being defined.
        from api import schema  # noqa: F401
