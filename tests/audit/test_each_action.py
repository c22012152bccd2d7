"""Each action the audit log promises is recorded when a person does it, through the page or API they use."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import token_create, user_create
from audit.models import Action, AuditEntry
from events.models import Webhook
from events.services import webhook_create
from registry.models import Manifest, Package
from registry.services import trash
from retention.services import policy_set
from sources import services as sources
from tests.helpers import OWNER, basic_auth
from tests.oidc_issuer import OIDCIssuer
from tests.registry.helpers import image_config, push_image
from tests.sources.helpers import ISSUERS

ADDRESS = "203.0.113.5"
PASSWORD = "a long enough password 1"
PAGES = f"/{OWNER}/packages/container/app"
HOOK_URL = "http://127.0.0.1:9/hook"
REPO_URL = f"https://github.com/{OWNER}/app"
REPOSITORIES = f"/{OWNER}/repositories"


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
        # The pages answer a refused change with a redirect and an error message.
        refused = [str(m) for m in response.wsgi_request._messages if m.level_tag == "error"]
        assert not refused, (path, refused)

    def add_repository(self):
        return sources.repository_add(namespace=OWNER, url=REPO_URL, by=self.alice)

    def connect(self, inherit_access: bool = False):
        return sources.package_connect(package=self.package, repository=self.add_repository(),
                                       inherit_access=inherit_access, by=self.alice)


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


def add_repository(s):
    s.post(REPOSITORIES, {"url": f"{REPO_URL}.git", "push_refs": "refs/heads/main"})


def remove_repository(s):
    repository = s.connect().source_repository
    s.post(f"{REPOSITORIES}/{repository.pk}/remove")


def change_push_refs(s):
    repository = sources.repository_add(namespace=OWNER, url=REPO_URL, push_refs="refs/heads/main", by=s.alice)
    s.post(f"{REPOSITORIES}/{repository.pk}/push-refs", {"push_refs": "refs/heads/main, refs/tags/*"})


def grant_repository_access(s):
    user_create(username="bob")
    repository = s.add_repository()
    s.post(f"{REPOSITORIES}/{repository.pk}/grant", {"grantee": "bob", "role": "write"})


def revoke_repository_access(s):
    repository = s.add_repository()
    sources.repository_grant(repository=repository, role="write", user=user_create(username="bob"))
    s.post(f"{REPOSITORIES}/{repository.pk}/revoke", {"grantee": "bob"})


def connect_package(s):
    s.add_repository()
    s.post(f"{PAGES}/-/settings/source/connect", {"repository": REPO_URL, "inherit_access": "1"})


def connect_by_label(s):
    s.add_repository()
    labelled = image_config(labels={"org.opencontainers.image.source": REPO_URL})
    push_image(s.registry, "v2", config=labelled, layers=(b"second",))


def connect_by_job(s):
    with OIDCIssuer() as issuer, override_settings(BERTH_CI_ISSUERS=[issuer.config()]):
        s.add_repository()  # as this issuer's: its jobs' tokens name it
        token = issuer.mint(issuer.github_claims(repository=f"{OWNER}/app"))
        # As `docker login -u ci` then `docker push`: the job's first push creates and connects the package.
        job = Client(REMOTE_ADDR=ADDRESS, HTTP_AUTHORIZATION=basic_auth("ci", token))
        push_image(job, "v1", name=f"{OWNER}/new")


def disconnect_package(s):
    s.connect()
    s.post(f"{PAGES}/-/settings/source/disconnect")


def inherit_access(s):
    s.connect()
    s.post(f"{PAGES}/-/settings/source/inherit", {"inherit_access": "1"})


def grant_ci_access(s):
    s.add_repository()
    s.post(f"{PAGES}/-/settings/source/ci-access", {"repository": REPO_URL, "role": "write"})


def revoke_ci_access(s):
    sources.package_repository_access_set(package=s.package, repository=s.add_repository(), role="write")
    s.post(f"{PAGES}/-/settings/source/ci-access-remove", {"repository": REPO_URL})


ALICE, NOBODY, WORKER, JOB = "alice", "nobody", "worker", "job"

# action -> (how a person does it, who the entry names as the actor: alice from ADDRESS, or as described below)
CASES = {
    Action.LOGIN: (sign_in, ALICE),
    Action.LOGIN_FAILED: (fail_sign_in, NOBODY),
    "user.failed_login (token)": (fail_token_login, NOBODY),
    Action.TOKEN_CREATE: (create_token, ALICE),
    Action.TOKEN_REVOKE: (revoke_token, ALICE),
    Action.PACKAGE_CREATE: (create_package, ALICE),
    Action.PACKAGE_PUBLISH: (publish, ALICE),
    Action.VERSION_DELETE: (delete_version, ALICE),
    Action.VERSION_RESTORE: (restore_version, ALICE),
    Action.PACKAGE_DELETE: (delete_package, ALICE),
    Action.PACKAGE_RESTORE: (restore_package, ALICE),
    Action.VISIBILITY_CHANGE: (change_visibility, ALICE),
    Action.ACCESS_GRANT: (grant_access, ALICE),
    Action.ACCESS_REVOKE: (revoke_access, ALICE),
    "package.access_grant (repository)": (grant_repository_access, ALICE),
    "package.access_revoke (repository)": (revoke_repository_access, ALICE),
    "package.access_grant (CI access)": (grant_ci_access, ALICE),
    "package.access_revoke (CI access)": (revoke_ci_access, ALICE),
    Action.WEBHOOK_CREATE: (create_webhook, ALICE),
    Action.WEBHOOK_UPDATE: (change_webhook, ALICE),
    Action.WEBHOOK_DELETE: (delete_webhook, ALICE),
    Action.RETENTION_RUN: (run_retention, WORKER),
    Action.REPOSITORY_ADD: (add_repository, ALICE),
    Action.REPOSITORY_REMOVE: (remove_repository, ALICE),
    Action.REPOSITORY_PUSH_REFS_CHANGE: (change_push_refs, ALICE),
    Action.REPOSITORY_CONNECT: (connect_package, ALICE),
    "package.repository_connect (source label)": (connect_by_label, ALICE),
    "package.repository_connect (CI job)": (connect_by_job, JOB),
    Action.REPOSITORY_DISCONNECT: (disconnect_package, ALICE),
    Action.INHERIT_ACCESS_CHANGE: (inherit_access, ALICE),
}

# What the entry's data says, where the case's action is about a source repository.
DATA = {
    "package.access_grant (repository)": {"repository": REPO_URL, "grantee": "bob", "role": "write"},
    "package.access_revoke (repository)": {"repository": REPO_URL, "grantee": "bob"},
    "package.access_grant (CI access)": {"repository": REPO_URL, "grantee": REPO_URL, "role": "write"},
    "package.access_revoke (CI access)": {"repository": REPO_URL, "grantee": REPO_URL},
    Action.REPOSITORY_ADD: {"repository": REPO_URL, "push_refs": ["refs/heads/main"]},
    Action.REPOSITORY_REMOVE: {"repository": REPO_URL, "packages": [f"{OWNER}/app"]},
    Action.REPOSITORY_PUSH_REFS_CHANGE: {"repository": REPO_URL, "previous_push_refs": ["refs/heads/main"],
                                         "push_refs": ["refs/heads/main", "refs/tags/*"]},
    Action.REPOSITORY_CONNECT: {"repository": REPO_URL, "inherit_access": True},
    "package.repository_connect (source label)": {"repository": REPO_URL, "inherit_access": False},
    "package.repository_connect (CI job)": {"repository": REPO_URL, "inherit_access": True},
    Action.REPOSITORY_DISCONNECT: {"repository": REPO_URL},
    Action.INHERIT_ACCESS_CHANGE: {"repository": REPO_URL, "inherit_access": True},
}

# The package each case's entry names ("" for an owner's repository and its grants).
PACKAGE = {
    "package.access_grant (repository)": "", "package.access_revoke (repository)": "",
    Action.REPOSITORY_ADD: "", Action.REPOSITORY_REMOVE: "", Action.REPOSITORY_PUSH_REFS_CHANGE: "",
    "package.repository_connect (CI job)": f"{OWNER}/new",
}


def test_every_action_has_a_case():
    covered = {str(key).split(" ")[0] for key in CASES}
    assert covered == set(Action.values)


@pytest.mark.parametrize("key", CASES, ids=str)
def test_the_action_is_recorded_on_alices_log(api, settings, key):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    settings.BERTH_CI_ISSUERS = ISSUERS
    action = str(key).split(" ")[0]
    do, who = CASES[key]
    scene = Scene(api)
    before = set(AuditEntry.objects.filter(action=action).values_list("pk", flat=True))
    do(scene)
    (entry,) = AuditEntry.objects.filter(action=action).exclude(pk__in=before)
    assert entry.namespace == OWNER
    if who == ALICE:
        assert (entry.actor, entry.actor_name, entry.address) == (scene.alice, OWNER, ADDRESS)
    elif who == NOBODY:  # a failed sign-in names whom it tried
        assert (entry.actor, entry.actor_name, entry.address) == (None, OWNER, ADDRESS)
    elif who == JOB:  # a CI job is named as its repository, and signs in from its runner's address
        assert (entry.actor, entry.actor_name, entry.address) == (None, f"{OWNER}/app", ADDRESS)
    else:  # the worker's retention run: no one's request
        assert (entry.actor, entry.actor_name, entry.address) == (None, "retention policy", None)
        assert entry.data["deleted"] == 1
    if key in DATA:
        assert entry.data == DATA[key]
        assert entry.package == PACKAGE.get(key, f"{OWNER}/app")
