"""Harness for the manifest pull fast path tests: registry tokens, download counts, answers to compare."""

from django.db import connection

from registry.api import pull
from registry.models import Package
from registry.services.downloads import download_fold
from tests.accounts.helpers import get_token


def bearer(client, scope="repository:alice/app:pull") -> str:
    """Return an Authorization header with a registry token /token gives client for scope."""
    response = get_token(client, scope)
    assert response.status_code == 200, response.content
    return f"Bearer {response.json()['token']}"


def counts(name="alice/app") -> tuple[int, list[int]]:
    """Return the pulls counted of package name and of each of its manifests (in push order)."""
    download_fold()
    package = Package.all_objects.get(name=name)
    return package.downloads, list(package.manifests.order_by("id").values_list("downloads", flat=True))


def read(name: str, reference: str, grant):
    """Return the fast path's (manifest, package, caller) for a pull of name:reference with grant, None if no row."""
    row = pull.fetch(connection, pull.read_statement(reference), name, reference, grant.pat_id)
    return pull.build(row, grant, connection) if row is not None else None


def answer(client, method, path, **headers) -> tuple[int, bytes, dict[str, str]]:
    """Return status, body and headers (all but Date) of a request."""
    response = getattr(client, method)(path, **headers)
    return response.status_code, response.content, {k: v for k, v in response.headers.items() if k != "Date"}
