"""Retention policies delete old and untagged versions through the trash, keeping multi-arch images whole."""

import io
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from audit.models import Action, AuditEntry
from registry.models import Manifest, Package
from registry.oci import media_types as mt
from registry.services import trash
from registry.services.manifests import tag_set
from registry.services.usage import owner_usage
from retention.models import RetentionRun
from retention.services import DELETED_BY, policy_set, retention_apply, retention_plan, retention_run
from tests.packages_ui.helpers import push_labelled, push_multiarch
from tests.registry.helpers import push_artifact, put_manifest

pytestmark = pytest.mark.django_db


def command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def age(digest: str, days: int) -> None:
    Manifest.objects.filter(digest=digest).update(pushed_at=timezone.now() - timedelta(days=days))


def live(name: str = "alice/app") -> set[str]:
    return set(Manifest.objects.filter(package__name=name, deleted_at__isnull=True).values_list("digest", flat=True))


def untag(api, name: str, tag: str) -> None:
    assert api.delete(f"/v2/{name}/manifests/{tag}").status_code == 202


def signature_of(api, digest: str, name: str) -> str:
    subject = Manifest.objects.get(package__name=name, digest=digest)
    sig, _ = push_artifact(api, {"mediaType": subject.media_type, "digest": digest, "size": subject.size},
                           "application/vnd.dev.cosign.artifact.sig.v1+json", name=name, payload=digest.encode())
    return sig


def test_untagged_versions_go_with_their_signatures_and_multiarch_platforms_stay(api):
    index, children = push_multiarch(api, "latest", name="alice/app")
    old = push_labelled(api, "old", layer=b"old layer")
    sig = signature_of(api, old, "alice/app")
    untag(api, "alice/app", "old")
    for digest in (index, *children, old, sig):
        age(digest, 30)
    policy_set(owner="alice", delete_untagged_after_days=7)

    out = command("retention", "alice")

    # The untagged platforms of the tagged index are kept; the untagged image goes with its signature.
    assert live() == {index, *children}
    assert f"deleted alice/app@{old}\n" in out and f"deleted alice/app@{sig} with {old}\n" in out
    gone = Manifest.objects.filter(digest__in=[old, sig])
    assert {m.deleted_by for m in gone} == {DELETED_BY}


def test_a_deleted_index_takes_platforms_no_kept_index_uses(api):
    index, (amd, arm) = push_multiarch(api, "v1", name="alice/app")
    amd_raw = bytes(Manifest.objects.get(digest=amd).raw)
    other = put_manifest(api, "v2", b'{"schemaVersion": 2, "mediaType": "%s", "manifests": [{"mediaType": "%s", '
                         b'"digest": "%s", "size": %d}]}' % (mt.OCI_INDEX.encode(), mt.OCI_MANIFEST.encode(),
                                                              amd.encode(), len(amd_raw)), mt.OCI_INDEX)
    assert other.status_code == 201
    kept_index = other["Docker-Content-Digest"]
    age(index, 40)
    age(kept_index, 1)
    policy_set(owner="alice", delete_tagged_after_days=30)

    result, _ = retention_run(owner="alice")

    assert live() == {kept_index, amd}
    assert {d["digest"] for d in result.deleted} == {index, arm}


def test_keep_last_keep_tags_and_tags_moved_between_versions(api):
    a = push_labelled(api, "v1", layer=b"a")
    b = push_labelled(api, "v2", layer=b"b")
    c = push_labelled(api, "v3", layer=b"c")
    d = push_labelled(api, "stable", layer=b"d")
    for days, digest in ((40, d), (30, a), (20, b), (10, c)):
        age(digest, days)
    # v3 moves from c to a; keep_last orders by push, so a (pushed 30 days ago) is still older than b.
    put_manifest(api, "v3", bytes(Manifest.objects.get(digest=a).raw))
    # c is untagged now, and untagged versions are not touched by this policy.
    policy_set(owner="alice", keep_last=1, keep_tags=r"stable|release-.*")

    result, _ = retention_run(owner="alice")

    # Tagged: b (v2, 20 days) is the newest tagged, kept; a (v1, v3) goes; d (stable) matches keep_tags.
    assert {x["digest"] for x in result.deleted} == {a}
    assert live() == {b, c, d}
    assert set(Manifest.objects.get(digest=a).deleted_tags) == {"v1", "v3"}


def test_dry_run_lists_exactly_what_the_run_deletes_and_restore_brings_it_back(api):
    index, children = push_multiarch(api, "old-multi", name="alice/app")
    old = push_labelled(api, "old", layer=b"old layer")
    sig = signature_of(api, index, "alice/app")
    new = push_labelled(api, "new", layer=b"new layer")
    for digest in (index, *children, old, sig):
        age(digest, 100)
    policy_set(owner="alice", delete_tagged_after_days=90)
    usage = owner_usage(owner="alice")

    dry = command("retention", "--dry-run", "alice")
    assert live() == {index, *children, old, sig, new}
    assert owner_usage(owner="alice") == usage
    run = command("retention", "alice")

    listed = sorted(line.removeprefix("would delete ") for line in dry.splitlines() if line.startswith("would "))
    done = sorted(line.removeprefix("deleted ") for line in run.splitlines() if line.startswith("deleted "))
    assert listed == done and len(done) == 5
    assert dry.splitlines()[-1].replace("would delete", "deleted").replace("would free", "freed") == \
        run.splitlines()[-1]
    freed = usage - owner_usage(owner="alice")
    assert freed > 0 and f"freed {freed} bytes" in run
    assert live() == {new}
    runs = list(RetentionRun.objects.filter(owner="alice").order_by("started_at", "id"))
    assert [r.dry_run for r in runs] == [True, False] and runs[1].freed_bytes == runs[0].freed_bytes == freed
    # The run (not the dry run) is in alice's audit log.
    entries = list(AuditEntry.objects.filter(namespace="alice", action=Action.RETENTION_RUN))
    assert [(e.actor_name, e.data["deleted"], e.data["freed_bytes"]) for e in entries] == [
        ("retention policy", 5, freed)]

    restored = trash.version_restore(manifest=Manifest.objects.get(digest=index))
    assert {m.digest for m in restored} == {index, *children, sig}
    assert live() == {index, *children, sig, new}
    assert Manifest.objects.get(digest=index).deleted_by == ""


def test_a_package_policy_overrides_its_owners(api):
    app = push_labelled(api, "v1", name="alice/app", layer=b"app")
    tool = push_labelled(api, "v1", name="alice/tool", layer=b"tool")
    keep = push_labelled(api, "v1", name="alice/keep", layer=b"keep")
    for digest in (app, tool, keep):
        age(digest, 60)
    policy_set(owner="alice", delete_tagged_after_days=30)
    policy_set(owner="alice", package=Package.objects.get(name="alice/tool"), delete_tagged_after_days=90)
    policy_set(owner="alice", package=Package.objects.get(name="alice/keep"), enabled=False)

    command("retention")

    assert live("alice/app") == set()
    assert live("alice/tool") == {tool}
    assert live("alice/keep") == {keep}


def test_recently_pulled_versions_are_kept(api):
    pulled = push_labelled(api, "pulled", layer=b"pulled")
    idle = push_labelled(api, "idle", layer=b"idle")
    age(pulled, 60)
    age(idle, 60)
    assert api.get("/v2/alice/app/manifests/pulled", HTTP_ACCEPT=mt.OCI_MANIFEST).status_code == 200
    policy_set(owner="alice", delete_tagged_after_days=30, keep_pulled_within_days=7)

    command("retention", "alice/app")

    assert live() == {pulled}


def test_a_push_during_the_run_is_left_alone(api):
    untagged = push_labelled(api, "x", layer=b"u")
    untag(api, "alice/app", "x")
    age(untagged, 30)
    policy_set(owner="alice", delete_untagged_after_days=7)
    planned = retention_plan(packages=Package.objects.filter(namespace="alice"), now=timezone.now(),
                             grace=timedelta(hours=1))
    assert [p.digest for p in planned] == [untagged]
    # While the run goes on, a push tags the planned version and pushes a new untagged one.
    put_manifest(api, "rescued", bytes(Manifest.objects.get(digest=untagged).raw))
    fresh = push_labelled(api, "fresh", layer=b"fresh")
    untag(api, "alice/app", "fresh")

    result = retention_apply(planned=planned)

    assert result.deleted == [] and result.kept_changed == [f"alice/app@{untagged}"]
    # The next run doesn't touch the fresh untagged version either: it is within the grace period.
    command("retention", "alice")
    assert live() == {untagged, fresh}


def test_set_retention_command(api):
    push_labelled(api, "v1")
    out = command("set_retention", "alice/app", "--keep-last", "3", "--keep-tags", "v.*")
    assert "set" in out
    policy = Package.objects.get(name="alice/app").retention_policy
    assert (policy.keep_last, policy.keep_tags, policy.enabled) == (3, "v.*", True)
    command("set_retention", "alice/app", "--off")
    policy.refresh_from_db()
    assert policy.enabled is False



@pytest.mark.django_db(transaction=True)
def test_a_tag_pushed_while_the_run_reaches_the_version_keeps_it(api):
    untagged = push_labelled(api, "x", layer=b"u")
    untag(api, "alice/app", "x")
    age(untagged, 30)
    policy_set(owner="alice", delete_untagged_after_days=7)
    planned = retention_plan(packages=Package.objects.filter(namespace="alice"), now=timezone.now(),
                             grace=timedelta(hours=1))
    results = []

    def run():
        try:
            results.append(retention_apply(planned=planned))
        finally:
            connection.close()

    manifest = Manifest.objects.get(digest=untagged)
    with transaction.atomic():
        # A push has locked the version to tag it (as manifest_put does) when the run gets there.
        Manifest.objects.select_for_update().get(pk=manifest.pk)
        tag_set(package=manifest.package, name="rescued", manifest=manifest)
        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive()  # waiting for the push's lock
    worker.join(10)

    assert results[0].deleted == [] and results[0].kept_changed == [f"alice/app@{untagged}"]
    assert live() == {untagged}
