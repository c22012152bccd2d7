"""An audit entry for each action, readable by the owner at /api/v3/{users,orgs}/NAME/audit-log, kept for a while."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import (
    membership_set,
    organization_create,
    package_grant,
    package_revoke,
    package_visibility_set,
    token_create,
    token_revoke,
    user_create,
)
from audit.models import Action, AuditEntry
from audit.services import audit_purge
from events.services import webhook_create, webhook_delete
from registry.models import Manifest, Package
from registry.services import trash
from sources import services as sources
from tests.helpers import OWNER
from tests.registry.helpers import push_image
from tests.sources.helpers import ISSUERS

BASE = "/api/v3"


def actions(namespace: str = OWNER) -> list[str]:
    return list(AuditEntry.objects.filter(namespace=namespace).order_by("created_at", "id")
                .values_list("action", flat=True))


def bearer(user) -> Client:
    _, token = token_create(user=user, scopes=["read:packages"], note="audit reader")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_sign_ins_and_failures_are_recorded_with_the_address(db):
    user_create(username="carol", password="a long enough password 1")
    browser = Client(REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="test browser")
    assert browser.post("/login", {"username": "carol", "password": "wrong"}).status_code == 200
    assert browser.post("/login", {"username": "carol", "password": "a long enough password 1"}).status_code == 302
    failed, signed_in = AuditEntry.objects.filter(namespace="carol").order_by("id")
    assert failed.action == Action.LOGIN_FAILED and failed.actor is None and failed.actor_name == "carol"
    assert signed_in.action == Action.LOGIN and signed_in.actor.username == "carol"
    assert signed_in.address == "192.0.2.7" and signed_in.user_agent == "test browser"


def test_package_and_token_actions_are_recorded_with_their_actor(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    digest, _ = push_image(api, "v1")  # creates and publishes, as alice over /v2/
    package = Package.objects.get()
    bob = user_create(username="bob")
    package_grant(package=package, role="read", user=bob)
    package_revoke(package=package, user=bob)
    package_visibility_set(package=package, visibility="public")
    version = Manifest.objects.get(digest=digest)
    trash.version_soft_delete(manifest=version)
    trash.version_restore(manifest=version)
    trash.package_soft_delete(package=package)
    trash.package_restore(package=package)
    hook = webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="x")
    webhook_delete(webhook=hook)
    assert actions() == [
        Action.TOKEN_CREATE,  # the api fixture's token
        Action.PACKAGE_CREATE, Action.PACKAGE_PUBLISH, Action.ACCESS_GRANT, Action.ACCESS_REVOKE,
        Action.VISIBILITY_CHANGE, Action.VERSION_DELETE, Action.VERSION_RESTORE, Action.PACKAGE_DELETE,
        Action.PACKAGE_RESTORE, Action.WEBHOOK_CREATE, Action.WEBHOOK_DELETE,
    ]
    published = AuditEntry.objects.get(action=Action.PACKAGE_PUBLISH)
    assert published.actor_name == OWNER and published.package == f"{OWNER}/app"
    assert published.data == {"digest": digest, "tags": ["v1"]} and published.address == "127.0.0.1"
    assert AuditEntry.objects.get(action=Action.ACCESS_GRANT).data == {"grantee": "bob", "role": "read"}
    assert AuditEntry.objects.get(action=Action.VISIBILITY_CHANGE).data == {
        "previous_visibility": "private", "visibility": "public"}


def page_rows(client: Client, path: str) -> list[list[str]]:
    """Return the audit log page's table as rows of cell texts."""
    page = client.get(path).content.decode()
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1], re.S)]


def test_the_log_page_names_the_repository_and_grantee_where_there_is_no_package(db, settings):
    settings.BERTH_CI_ISSUERS = ISSUERS
    carol, bob = user_create(username="carol"), user_create(username="bob")
    repository = sources.repository_add(namespace="carol", url="https://github.com/carol/app", by=carol)
    sources.repository_grant(repository=repository, role="write", user=bob, by=carol)
    sources.push_refs_set(repository=repository, push_refs="refs/heads/main", by=carol)
    browser = Client()
    browser.force_login(carol)  # recorded too: the newest entry
    rows = page_rows(browser, "/settings/audit-log")
    # What each entry is about, in the column packages and tokens use.
    assert [(row[2], row[3]) for row in rows[1:]] == [
        ("Changed which refs of a repository may push package.repository_push_refs_change",
         "https://github.com/carol/app"),
        ("Granted access to a package or repository package.access_grant", "https://github.com/carol/app bob (write)"),
        ("Added a source repository package.repository_add", "https://github.com/carol/app"),
    ]


def test_setting_the_same_push_refs_again_records_nothing(db, settings):
    settings.BERTH_CI_ISSUERS = ISSUERS
    carol = user_create(username="carol")
    repository = sources.repository_add(namespace="carol", url="https://github.com/carol/app",
                                        push_refs="refs/heads/main", by=carol)
    sources.push_refs_set(repository=repository, push_refs=" refs/heads/main,", by=carol)
    assert actions("carol") == [Action.REPOSITORY_ADD]


def test_token_revoke_is_recorded_once(db):
    carol = user_create(username="carol")
    pat, _ = token_create(user=carol, scopes=["read:packages"], note="ci")
    token_revoke(token=pat)
    token_revoke(token=pat)
    assert actions("carol") == [Action.TOKEN_CREATE, Action.TOKEN_REVOKE]
    assert AuditEntry.objects.get(action=Action.TOKEN_REVOKE).token_hint == pat.hint


def test_a_user_reads_their_own_log_shaped_like_githubs(api):
    from django.contrib.auth import get_user_model

    push_image(api, "v1")
    alice = get_user_model().objects.get(username=OWNER)
    response = bearer(alice).get(f"{BASE}/users/{OWNER}/audit-log")
    assert response.status_code == 200, response.content
    entries = response.json()
    assert [e["action"] for e in entries][:3] == [Action.TOKEN_CREATE, Action.PACKAGE_PUBLISH, Action.PACKAGE_CREATE]
    newest_package = entries[1]
    assert newest_package["actor"] == OWNER and newest_package["user"] == OWNER
    assert newest_package["package"] == f"{OWNER}/app"
    assert isinstance(newest_package["@timestamp"], int)
    assert newest_package["created_at"] == newest_package["@timestamp"]


def test_the_log_filters_by_action_and_time(api):
    from django.contrib.auth import get_user_model

    push_image(api, "v1")
    alice = get_user_model().objects.get(username=OWNER)
    client = bearer(alice)
    only = client.get(f"{BASE}/users/{OWNER}/audit-log", {"action": "package.publish"}).json()
    assert [e["action"] for e in only] == [Action.PACKAGE_PUBLISH]
    packages = client.get(f"{BASE}/users/{OWNER}/audit-log", {"action": "package.*"}).json()
    assert {e["action"] for e in packages} == {Action.PACKAGE_PUBLISH, Action.PACKAGE_CREATE}
    AuditEntry.objects.filter(action=Action.PACKAGE_CREATE).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = client.get(f"{BASE}/users/{OWNER}/audit-log", {"after": since}).json()
    assert Action.PACKAGE_CREATE not in {e["action"] for e in recent}
    older = client.get(f"{BASE}/users/{OWNER}/audit-log", {"before": since}).json()
    assert [e["action"] for e in older] == [Action.PACKAGE_CREATE]
    assert client.get(f"{BASE}/users/{OWNER}/audit-log", {"after": "yesterday"}).status_code == 422


def test_only_the_user_and_an_organizations_owners_read_its_log(db):
    carol, dave = user_create(username="carol"), user_create(username="dave")
    org = organization_create(name="acme", owner=carol)
    membership_set(organization=org, user=dave)
    token_create(user=dave, scopes=["read:packages"])
    assert bearer(carol).get(f"{BASE}/orgs/acme/audit-log").status_code == 200
    assert bearer(dave).get(f"{BASE}/orgs/acme/audit-log").status_code == 404
    assert bearer(carol).get(f"{BASE}/users/dave/audit-log").status_code == 404
    assert bearer(dave).get(f"{BASE}/users/dave/audit-log").status_code == 200
    assert Client().get(f"{BASE}/users/dave/audit-log").status_code == 401


def test_entries_older_than_the_retention_are_purged(db, settings):
    settings.BERTH_AUDIT_RETENTION_DAYS = 30
    carol = user_create(username="carol")
    token_create(user=carol, scopes=["read:packages"])
    AuditEntry.objects.update(created_at=timezone.now() - timedelta(days=31))
    token_create(user=carol, scopes=["read:packages"])
    assert audit_purge() == 1
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_audit_entry_rolls_back_with_its_change():
    from django.db import transaction

    carol = user_create(username="carol")
    with pytest.raises(RuntimeError), transaction.atomic():
        token_create(user=carol, scopes=["read:packages"])
        raise RuntimeError("the change fails")
    assert not AuditEntry.objects.exists()
