"""Django's SQLite engine, counting: ENGINE = "service_runtime.database_metrics.backends.sqlite3"."""

from typing import Any

from django.db.backends.sqlite3 import base

from service_runtime.database_metrics.counting import CountingConnectionsMixin, counting_cursor


class DatabaseWrapper(CountingConnectionsMixin, base.DatabaseWrapper):
    def create_cursor(self, name: str | None = None) -> Any:
        if getattr(self, "_counting_cursor", None) is None:
            self._counting_cursor = counting_cursor(base.SQLiteCursorWrapper, self.alias, self.vendor)
        return self.connection.cursor(factory=self._counting_cursor)
