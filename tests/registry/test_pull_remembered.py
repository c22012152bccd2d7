"""A repeated manifest GET on the fast path: decided on the row of the last yes, read and counted in one statement.

registry/api/pull.py remembers the row it last answered yes on for a GET (statement, name,
reference, token). The next such GET is decided on that row first; its statement counts the pull
only if the row it reads is still that one. These tests change the row between pulls and check
the answer follows the row read, and that every pull answered is counted once and no other.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import package_visibility_set, token_revoke
from registry.api import pull
from registry.models import Manifest, Package, PullCount, Tag
from registry.oci import media_types as mt
from tests.accounts.helpers import errors
from tests.packages_ui.helpers import push_multiarch
from tests.registry.helpers import push_image
from tests.registry.pulls import bearer, counts

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

PATH = "/v2/alice/app/manifests/1"


@pytest.fixture(autouse=True)
def no_answers_remembered(monkeypatch):
    monkeypatch.setattr(pull, "_answered", {})


def get(client, token, path=PATH, **headers):
    return client.get(path, HTTP_AUTHORIZATION=token, **headers)


def remembered(client, token, path=PATH) -> None:
    """Pull twice: the first answer is remembered, the second prepares the counting statement."""
    for _ in range(2):
        assert get(client, token, path).status_code == 200
    assert pull._answered


def test_a_repeated_pull_reads_and_counts_in_one_statement(alice_client, anonymous, django_assert_num_queries):
    token = bearer(alice_client)
    remembered(anonymous, token)
    with django_assert_num_queries(1):
        response = get(anonymous, token)
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == alice_client.digest
    assert response.content == bytes(Manifest.objects.get().raw)
    assert counts() == (3, [3])


def test_heads_are_not_remembered_or_counted(alice_client, anonymous):
    token = bearer(alice_client)
    for _ in range(3):
        assert anonymous.head(PATH, HTTP_AUTHORIZATION=token).status_code == 200
    assert pull._answered == {}
    assert counts() == (0, [0])


@pytest.mark.parametrize("change, status", [
    (lambda: token_revoke(token=PersonalAccessToken.objects.get()), 401),
    (lambda: PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1)), 401),
    (lambda: PersonalAccessToken.objects.update(scopes=["delete:packages"]), 403),
    (lambda: get_user_model().objects.update(is_active=False), 401),
    (lambda: Package.objects.update(deleted_at=timezone.now()), 404),
    (lambda: Manifest.objects.update(deleted_at=timezone.now()), 404),
], ids=["revoked", "expired", "scopes", "user disabled", "package deleted", "manifest deleted"])
def test_a_change_that_refuses_the_pull_is_never_counted(alice_client, anonymous, change, status):
    token = bearer(alice_client)
    remembered(anonymous, token)
    change()
    response = get(anonymous, token)
    assert response.status_code == status, errors(response)
    assert sum(PullCount.objects.values_list("pulls", flat=True)) == 2
    assert pull._answered == {}


def test_a_change_that_still_serves_is_counted_once(alice_client, anonymous, django_assert_num_queries):
    token = bearer(alice_client)
    remembered(anonymous, token)
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    with django_assert_num_queries(2):  # read and counted nothing (another row), then the count
        assert get(anonymous, token).status_code == 200
    with django_assert_num_queries(1):  # the new row is the one remembered now
        assert get(anonymous, token).status_code == 200
    assert counts() == (4, [4])


def test_a_moved_tag_answers_and_counts_its_new_manifest(alice_client, anonymous):
    token = bearer(alice_client)
    remembered(anonymous, token)
    digest, raw = push_image(alice_client, "1", name="alice/app", layers=(b"another layer",))
    assert Tag.objects.get(name="1").manifest.digest == digest
    for _ in range(2):
        response = get(anonymous, token)
        assert response.status_code == 200
        assert (response["Docker-Content-Digest"], response.content) == (digest, raw)
    assert counts() == (4, [2, 2])


def test_the_remembered_decision_is_made_with_this_request(alice_client, anonymous):
    token = bearer(alice_client)
    remembered(anonymous, token)
    # The manifest is an OCI one: a client accepting only Docker's type is refused by the full stack.
    response = get(anonymous, token, HTTP_ACCEPT=mt.DOCKER_MANIFEST)
    assert response.status_code == 404
    assert counts() == (2, [2])


def test_expiry_is_judged_at_each_pull_not_when_remembered(alice_client, anonymous):
    token = bearer(alice_client)
    PersonalAccessToken.objects.update(expires_at=timezone.now() + timedelta(seconds=1))
    remembered(anonymous, token)
    time.sleep(1.1)
    response = get(anonymous, token)
    assert response.status_code == 401 and "expired" in errors(response)[0]["message"]
    assert counts() == (2, [2])


def test_platforms_counted_in_the_read_are_not_counted_for_the_package(api, anonymous):
    index, children = push_multiarch(api, name="alice/multi")
    token = bearer(api, "repository:alice/multi:pull")
    for _ in range(3):
        assert get(anonymous, token, f"/v2/alice/multi/manifests/{children[0]}").status_code == 200
        assert get(anonymous, token, "/v2/alice/multi/manifests/latest",
                   HTTP_ACCEPT=mt.OCI_INDEX).status_code == 200
    package_downloads, by_manifest = counts("alice/multi")
    assert package_downloads == 3
    digests = list(Manifest.objects.filter(package__name="alice/multi").order_by("id").values_list("digest", flat=True))
    assert dict(zip(digests, by_manifest, strict=True)) == {children[0]: 3, children[1]: 0, index: 3}


def test_remembered_rows_are_bounded(alice_client, anonymous, monkeypatch):
    monkeypatch.setattr(pull, "ANSWERED_LIMIT", 2)
    token = bearer(alice_client)
    for tag in ("2", "3", "4"):
        push_image(alice_client, tag, name="alice/app", layers=(tag.encode(),))
        assert get(anonymous, token, f"/v2/alice/app/manifests/{tag}").status_code == 200
    assert len(pull._answered) <= 2
    assert counts() == (3, [0, 1, 1, 1])


def test_without_prepared_statements_a_repeated_pull_is_one_statement_too(alice_client, anonymous, settings,
                                                                          django_assert_num_queries):
    """Behind PgBouncer's transaction pooling (BERTH_PREPARED_STATEMENTS=false) the statements run as SQL."""
    settings.BERTH_PREPARED_STATEMENTS = False
    token = bearer(alice_client)
    with django_assert_num_queries(2):  # a first pull: the read, then the count
        assert get(anonymous, token).status_code == 200
    with django_assert_num_queries(1):
        response = get(anonymous, token)
    assert response.status_code == 200 and response["Docker-Content-Digest"] == alice_client.digest
    assert counts() == (2, [2])
