"""Each action the audit log promises is recorded when a person does it, through the page or API they use."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import token_create, user_create
from audit.models import Action, AuditEntry
from events.models import Webhook
from events.services import webhook_create
from registry.models import Manifest, Package
from registry.services import trash
from retention.services import policy_set
from tests.helpers import OWNER, basic_auth
from tests.registry.helpers import push_image

ADDRESS = "203.0.113.5"
PASSWORD = "a long enough password 1"
PAGES = f"/{OWNER}/packages/container/app"
HOOK_URL = "http://127.0.0.1:9/hook"


class Scene:
    """alice's package alice/app (v1), her signed-in browser and her registry client, from ADDRESS."""

    def __init__(self, api):
        self.alice = get_user_model().objects.get(username=OWNER)
        api.defaults["REMOTE_ADDR"] = ADDRESS
        self.registry = api
        self.digest, _ = push_image(api, "v1")
        self.package = Package.objects.get(name=f"{OWNER}/app")
        self.browser = Client(REMOTE_ADDR=ADDRESS)
        self.browser.force_login(self.alice)
        _, token = token_create(user=self.alice, scopes=["read:packages", "write:packages"])
        self.rest = Client(REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=f"Bearer {token}")

    def give_password(self) -> None:
        self.alice.set_password(PASSWORD)  # hashing is slow: only for the cases that sign in
        self.alice.save()

    def post(self, path: str, data: dict | None = None) -> None:
        response = self.browser.post(path, data or {})
        assert response.status_code in (200, 302), (path, response.status_code)


def sign_in(s):
    s.give_password()
    assert Client(REMOTE_ADDR=ADDRESS).post("/login", {"username": OWNER, "password": PASSWORD}).status_code == 302


def fail_sign_in(s):
    s.give_password()
    assert Client(REMOTE_ADDR=ADDRESS).post("/login", {"username": OWNER, "password": "wrong"}).status_code == 200


def fail_token_login(s):
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=basic_auth(OWNER, "berth_pat_wrong"))
    assert client.get("/v2/").status_code == 401


def create_token(s):
    s.post("/settings/tokens/new", {"note": "ci", "scopes": ["read:packages"], "expiration": "30"})


def revoke_token(s):
    pat = PersonalAccessToken.objects.filter(user=s.alice).first()
    s.post(f"/settings/tokens/{pat.pk}/revoke")


def create_package(s):
    push_image(s.registry, "v1", name=f"{OWNER}/other")


def publish(s):
    push_image(s.registry, "v2", layers=(b"second",))


def delete_version(s):
    assert s.registry.delete(f"/v2/{OWNER}/app/manifests/{s.digest}").status_code == 202


def restore_version(s):
    trash.version_soft_delete(manifest=Manifest.objects.get(digest=s.digest))
    s.post(f"{PAGES}/-/versions/{s.digest}/restore")


def delete_package(s):
    s.post(f"{PAGES}/-/settings/delete", {"confirm": f"{OWNER}/app"})


def restore_package(s):
    trash.package_soft_delete(package=s.package)
    s.post(f"{PAGES}/-/restore")


def change_visibility(s):
    s.post(f"{PAGES}/-/settings/visibility", {"visibility": "public", "confirm": f"{OWNER}/app"})


def grant_access(s):
    user_create(username="bob")
    s.post(f"{PAGES}/-/settings/grant", {"grantee": "bob", "role": "read"})


def revoke_access(s):
    from accounts.services import package_grant

    permission = package_grant(package=s.package, role="read", user=user_create(username="bob"))
    s.post(f"{PAGES}/-/settings/revoke", {"permission": permission.pk})


def create_webhook(s):
    s.post("/settings/hooks", {"url": HOOK_URL, "secret": "s", "format": "cloudevents"})


def change_webhook(s):
    hook = webhook_create(namespace=OWNER, url=HOOK_URL, secret="s")
    response = s.rest.patch(f"/api/v3/users/{OWNER}/hooks/{hook.pk}", {"active": False},
                            content_type="application/json")
    assert response.status_code == 200, response.content


def delete_webhook(s):
    hook = webhook_create(namespace=OWNER, url=HOOK_URL, secret="s")
    s.post(f"/settings/hooks/{hook.pk}/delete")
    assert not Webhook.objects.exists()


def run_retention(s):
    assert s.registry.delete(f"/v2/{OWNER}/app/manifests/v1").status_code == 202  # untagged: a rule takes it
    Manifest.objects.filter(digest=s.digest).update(pushed_at=timezone.now() - timedelta(days=30))
    policy_set(owner=OWNER, delete_untagged_after_days=7)
    call_command("worker", "--once", stdout=io.StringIO())


# action -> (how a person does it, whether the entry names alice as the actor, from ADDRESS)
CASES = {
    Action.LOGIN: (sign_in, True),
    Action.LOGIN_FAILED: (fail_sign_in, False),
    "user.failed_login (token)": (fail_token_login, False),
    Action.TOKEN_CREATE: (create_token, True),
    Action.TOKEN_REVOKE: (revoke_token, True),
    Action.PACKAGE_CREATE: (create_package, True),
    Action.PACKAGE_PUBLISH: (publish, True),
    Action.VERSION_DELETE: (delete_version, True),
    Action.VERSION_RESTORE: (restore_version, True),
    Action.PACKAGE_DELETE: (delete_package, True),
    Action.PACKAGE_RESTORE: (restore_package, True),
    Action.VISIBILITY_CHANGE: (change_visibility, True),
    Action.ACCESS_GRANT: (grant_access, True),
    Action.ACCESS_REVOKE: (revoke_access, True),
    Action.WEBHOOK_CREATE: (create_webhook, True),
    Action.WEBHOOK_UPDATE: (change_webhook, True),
    Action.WEBHOOK_DELETE: (delete_webhook, True),
    Action.RETENTION_RUN: (run_retention, False),
}


def test_every_action_has_a_case():
    # Connecting a repository is recorded by the sources app, and tested there.
    covered = {str(key).split(" ")[0] for key in CASES}
    assert covered == set(Action.values) - {Action.REPOSITORY_ADD}


@pytest.mark.parametrize("key", CASES, ids=str)
def test_the_action_is_recorded_on_alices_log(api, settings, key):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    action = str(key).split(" ")[0]
    do, by_alice = CASES[key]
    scene = Scene(api)
    before = set(AuditEntry.objects.filter(action=action).values_list("pk", flat=True))
    do(scene)
    (entry,) = AuditEntry.objects.filter(action=action).exclude(pk__in=before)
    assert entry.namespace == OWNER
    if by_alice:
        assert (entry.actor, entry.actor_name, entry.address) == (scene.alice, OWNER, ADDRESS)
    elif action == Action.LOGIN_FAILED:
        assert (entry.actor, entry.actor_name, entry.address) == (None, OWNER, ADDRESS)
    else:  # the worker's retention run: no one's request
        assert (entry.actor, entry.actor_name, entry.address) == (None, "retention policy", None)
        assert entry.data["deleted"] == 1
