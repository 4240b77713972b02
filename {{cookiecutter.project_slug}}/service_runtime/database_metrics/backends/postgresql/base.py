"""Django's PostgreSQL engine (psycopg 3), counting: ENGINE = "service_runtime.database_metrics.backends.postgresql"."""

from typing import Any

from django.db.backends.postgresql import base

from service_runtime.database_metrics.counting import CountingConnectionsMixin, counting_cursor


class DatabaseWrapper(CountingConnectionsMixin, base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # psycopg makes every cursor of the connection from this class.
        params["cursor_factory"] = counting_cursor(params["cursor_factory"], self.alias, self.vendor)
        return params
