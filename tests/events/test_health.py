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
