"""The counting shared by every lean engine: a cursor class that counts, and a wrapper mixin for connections."""

from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Any

from django_prometheus.db import connection_errors_total, connections_total, errors_total, execute_total


def counting_cursor(cursor_class: type, alias: str, vendor: str) -> type:
    """``cursor_class``, counting each statement it executes and each error by its type."""
    executed = execute_total.labels(alias, vendor)  # looked up once per connection, not per query

    class CountingCursor(cursor_class):  # type: ignore[misc]  # a class known only at run time
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            executed.inc()
            try:
                return super().execute(*args, **kwargs)
            except Exception as error:
                errors_total.labels(alias, vendor, type(error).__name__).inc()
                raise

        def executemany(self, query: Any, param_list: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
            executed.inc(len(param_list) if isinstance(param_list, Sized) else 1)
            try:
                return super().executemany(query, param_list, *args, **kwargs)
            except Exception as error:
                errors_total.labels(alias, vendor, type(error).__name__).inc()
                raise

    return CountingCursor


class CountingConnectionsMixin:
    """Counts every new server connection, and every one that failed (the database down, refusing, full)."""

    alias: str
    vendor: str

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connections_total.labels(self.alias, self.vendor).inc()
        try:
            return super().get_new_connection(conn_params)  # type: ignore[misc]
        except Exception:
            connection_errors_total.labels(self.alias, self.vendor).inc()
            raise
