"""registry.prepared: statements prepared once per connection, and again on a new one."""

import pytest
from django.db import connection

from registry import prepared

pytestmark = pytest.mark.postgresql(reason="prepared statements (PREPARE/EXECUTE) are PostgreSQL's")

SQL = "SELECT %s::int + %s::int"


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_test_add", SQL, [1, 2])
        assert cursor.fetchone() == (3,)
        prepared.execute(cursor, "berth_test_add", SQL, [2, 3])
        assert cursor.fetchone() == (5,)
    connection.close()
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_test_add", SQL, [4, 5])
        assert cursor.fetchone() == (9,)


@pytest.mark.django_db(transaction=True)
def test_statements_run_unprepared_when_turned_off(settings):
    settings.BERTH_PREPARED_STATEMENTS = False
    connection.close()
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_test_off", SQL, [20, 22])
        assert cursor.fetchone() == (42,)
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'berth_test_off'")
        assert cursor.fetchone() == (0,)
    settings.BERTH_PREPARED_STATEMENTS = True
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_test_off", SQL, [1, 1])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'berth_test_off'")
        assert cursor.fetchone() == (1,)
