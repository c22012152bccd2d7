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
