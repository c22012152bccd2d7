"""The REST API's people and clients, for the retention endpoints' tests."""

from tests.api.conftest import alice, anonymous, client_for, make_user, owner_client  # noqa: F401
