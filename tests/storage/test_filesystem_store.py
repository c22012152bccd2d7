"""The filesystem store with two requests on one upload: one writer at a time, nothing published wrong."""

import fcntl
import hashlib

import pytest

from registry.models import Upload
from registry.storage import get_store
from tests.registry.helpers import REPO, body, error, request, start_upload

pytestmark = pytest.mark.django_db

DATA = b"layer bytes " * 1000


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class HeldByAnotherRequest:
    """Hold the upload file's lock as a concurrent PATCH of the same upload would."""

    def __init__(self, location: str):
        self.path = get_store().upload_path(location.rsplit("/", 1)[1])

    def __enter__(self):
        self.path.touch()
        self.file = self.path.open("rb")
        fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_a_patch_while_another_writes_the_upload_is_refused_and_changes_nothing(api):
    location = start_upload(api)
    assert request(api, "PATCH", location, DATA[:5000]).status_code == 202
    with HeldByAnotherRequest(location):
        response = request(api, "PATCH", location, b"x" * 7000)
        found = error(response, 416, "BLOB_UPLOAD_INVALID")
        assert "another request changed this upload" in found["message"]
        assert response["Range"] == "0-4999"
    assert Upload.objects.get().offset == 5000
    assert request(api, "PATCH", location, DATA[5000:]).status_code == 202
    response = request(api, "PUT", f"{location}?digest={sha256(DATA)}")
    assert response.status_code == 201, body(response)
    assert body(api.get(f"/v2/{REPO}/blobs/{sha256(DATA)}")) == DATA


def test_finishing_while_another_request_writes_keeps_the_upload(api):
    location = start_upload(api)
    assert request(api, "PATCH", location, DATA).status_code == 202
    with HeldByAnotherRequest(location):
        response = request(api, "PUT", f"{location}?digest={sha256(DATA)}")
        error(response, 416, "BLOB_UPLOAD_INVALID")
    assert Upload.objects.filter(offset=len(DATA)).exists()
    assert request(api, "PUT", f"{location}?digest={sha256(DATA)}").status_code == 201
    assert body(api.get(f"/v2/{REPO}/blobs/{sha256(DATA)}")) == DATA
