"""Helpers the tests of this package import (conftest.py keeps only fixtures)."""



ALL_SCOPES = ["read:packages", "write:packages", "delete:packages"]


BASE = "/api/v3"


def assert_error(response, status: int, message: str | None = None) -> dict:
    """Assert GitHub's error shape: {"message", "documentation_url"} and the status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    document = response.json()
    assert set(document) == {"message", "documentation_url"}, document
    assert document["documentation_url"].startswith("https://docs.github.com/"), document
    if message is not None:
        assert message in document["message"], document
    return document
