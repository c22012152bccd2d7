"""Fixtures for the REST API tests: people, clients sending their tokens as GitHub's clients do, and images."""

from tests.accounts.helpers import issuer, repository  # noqa: F401 - CI job fixtures
from tests.api.fixtures import alice, anonymous, client_for, make_user, owner_client  # noqa: F401 - fixtures
