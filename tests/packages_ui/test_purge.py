"""manage.py gc purges what the package pages deleted over 30 days ago, and the blobs only it used."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry.models import Blob, Manifest, Package, PackageBlob
from registry.services import trash
from tests.packages_ui.helpers import push_labelled
from tests.registry.helpers import sha256

pytestmark = pytest.mark.django_db


def gc(*args: str) -> str:
    out = io.StringIO()
    call_command("gc", *args, stdout=out)
    return out.getvalue()


def age_everything(by: timedelta) -> None:
    then = timezone.now() - by
    Blob.objects.update(created_at=then)
    PackageBlob.objects.update(created_at=then, seen_at=then)


def test_gc_purges_versions_and_packages_deleted_over_30_days_ago(api):
    kept = push_labelled(api, "v1", layer=b"kept layer")
    old = push_labelled(api, "v2", layer=b"old layer")
    recent = push_labelled(api, "v3", layer=b"recent layer")
    push_labelled(api, name="alice/gone", layer=b"gone layer")
    push_labelled(api, name="alice/recent", layer=b"recently deleted layer")
    for digest in (old, recent):
        trash.version_soft_delete(manifest=Manifest.objects.get(package__name="alice/app", digest=digest))
    trash.package_soft_delete(package=Package.objects.get(name="alice/gone"))
    trash.package_soft_delete(package=Package.objects.get(name="alice/recent"))
    long_ago = timezone.now() - timedelta(days=31)
    Manifest.objects.filter(digest=old).update(deleted_at=long_ago)
    Package.all_objects.filter(name="alice/gone").update(deleted_at=long_ago)
    age_everything(timedelta(days=40))

    dry = gc("--dry-run")
    assert "would remove deleted package alice/gone" in dry
    assert f"would remove deleted version alice/app@{old}" in dry
    assert Manifest.objects.filter(digest=old).exists()

    out = gc()
    assert "removed deleted package alice/gone\n" in out
    assert f"removed deleted version alice/app@{old}\n" in out
    assert "alice/recent" not in out and recent not in out
    assert not Package.all_objects.filter(name="alice/gone").exists()
    assert set(Manifest.objects.filter(package__name="alice/app").values_list("digest", flat=True)) == {kept, recent}
    assert Package.all_objects.filter(name="alice/recent").exists()
    # The purged things' layers went in the same run; what is still restorable kept its own.
    layers = set(Blob.objects.values_list("digest", flat=True))
    assert sha256(b"old layer") not in layers and sha256(b"gone layer") not in layers
    assert {sha256(b"kept layer"), sha256(b"recent layer"), sha256(b"recently deleted layer")} <= layers
