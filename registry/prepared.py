"""Server-side prepared statements for the few statements every pull runs.

PostgreSQL parses and plans a statement on every execution unless it is prepared; for the
manifest pull's joins that was a large share of each request. A statement is prepared once
per database connection, on its first use; connection_created forgets them when Django opens
a new connection. Other databases, and PostgreSQL with BERTH_PREPARED_STATEMENTS off (for
PgBouncer's transaction pooling, where one session serves many clients), run the SQL as it is.
"""

from django.conf import settings
from django.db.backends.signals import connection_created


def _forget(sender, connection, **kwargs):
    connection.berth_prepared = set()


connection_created.connect(_forget)


def execute(cursor, name: str, sql: str, params: list) -> None:
    """Run sql (with %s placeholders for params) as the prepared statement called name."""
    connection = cursor.db
    if connection.vendor != "postgresql" or not settings.BERTH_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    prepared = getattr(connection, "berth_prepared", None)
    if prepared is None:
        # This connection was opened before this module was imported: nothing of ours is on it.
        prepared = connection.berth_prepared = set()
    if name not in prepared:
        cursor.execute(f"PREPARE {name} AS {numbered(sql)}")
        prepared.add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)


def numbered(sql: str) -> str:
    """Return sql with its %s placeholders as PREPARE wants them: $1, $2, ..."""
    parts = sql.split("%s")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
