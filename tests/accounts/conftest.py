"""Fixtures for the accounts tests: people, their tokens, and clients signed in with them (helpers.py)."""

from tests.accounts.helpers import alice, alice_client, anonymous, client_for, make_user  # noqa: F401
