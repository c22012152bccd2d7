"""Fixtures for the accounts tests: people, their tokens, and clients signed in with them (helpers.py)."""

from tests.accounts.helpers import (  # noqa: F401
    alice,
    alice_client,
    anonymous,
    client_for,
    issuer,
    make_user,
    repository,
)
