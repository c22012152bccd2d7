"""Fixtures for the source repository tests (fixtures.py): trusted issuers, people, an organization, repositories."""

from tests.sources.fixtures import _issuers, acme_repo, app_repo, people  # noqa: F401 - fixtures
