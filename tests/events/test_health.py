"""/-/health and /-/ready in-process: what each checks."""

import pytest


@pytest.mark.django_db
def test_health_and_ready_answer_when_all_is_well(client):
    assert client.get("/-/health").json() == {"status": "ok"}
    assert client.get("/-/ready").json() == {"status": "ready"}


@pytest.mark.django_db
def test_ready_answers_503_when_the_blob_folder_is_unusable(client, settings, tmp_path):
    # Where the blobs should be there is a file, so no blob can be written.
    settings.BERTH_DATA_DIR = tmp_path / "not-a-folder"
    settings.BERTH_DATA_DIR.write_text("")
    response = client.get("/-/ready")
    assert response.status_code == 503
    assert "storage" in response.json()["problems"]
    assert client.get("/-/health").status_code == 200


@pytest.mark.django_db
def test_health_needs_no_database(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert client.get("/-/health").status_code == 200


@pytest.mark.django_db
def test_database_and_storage_outages_are_counted(api, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    from config import metrics
    from tests.registry.helpers import push_image

    def count(backend: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        text = metrics.render()[0].decode()
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == "berth_backend_errors_total" and s.labels == {"backend": backend})

    digest, _ = push_image(api, "v1")
    database, storage = count("database"), count("storage")
    with monkeypatch.context() as patch:
        def refuse(*args, **kwargs):
            raise OSError(5, "Input/output error")
        patch.setattr("registry.storage.filesystem.FilesystemBlobStore.open", refuse)
        from tests.registry.helpers import sha256
        assert api.get(f"/v2/alice/app/blobs/{sha256(b'layer')}").status_code == 503
    assert (count("storage"), count("database")) == (storage + 1, database)
    with monkeypatch.context() as patch:
        def down(*args, **kwargs):
            raise OperationalError("connection to server failed: Connection refused")
        patch.setattr(CursorWrapper, "execute", down)
        assert api.get("/v2/alice/app/tags/list").status_code == 503
    assert count("database") == database + 1
