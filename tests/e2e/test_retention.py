"""Retention runs and quotas against a live Berth, with the real skopeo pushing and pulling."""

import pytest

from tests.e2e import images

pytestmark = pytest.mark.e2e


def test_retention_keeps_a_multiarch_image_whole_and_deletes_an_untagged_one(berth, owner, skopeo, tmp_path):
    path = f"{owner.username}/retained"
    base = f"docker://{berth.host}/{path}"
    push = ("copy", "--all", "--dest-tls-verify=false", "--dest-creds", skopeo.creds)
    multi = images.write_multiarch_layout(tmp_path / "multi", tag="1", annotations={})
    skopeo(*push, f"oci:{multi.path}:1", f"{base}:1")
    first = images.write_single_image_layout(tmp_path / "first", tag="old", files={"a.txt": b"first\n"})
    second = images.write_single_image_layout(tmp_path / "second", tag="old", files={"a.txt": b"second\n"})
    skopeo(*push, f"oci:{first.path}:old", f"{base}:old")
    skopeo(*push, f"oci:{second.path}:old", f"{base}:old")  # the first image is untagged now

    berth.manage("set_retention", path, "--delete-untagged-after", "0")
    dry = berth.manage("retention", "--dry-run", "--grace", "0", path)
    out = berth.manage("retention", "--grace", "0", path)

    assert dry.splitlines()[0] == f"would delete {path}@{first.index.digest}"
    assert out.splitlines()[0] == f"deleted {path}@{first.index.digest}"
    assert len([line for line in out.splitlines() if line.startswith("deleted ")]) == 1
    pull = ("--src-tls-verify=false", "--src-creds", skopeo.creds)
    # The index's untagged platforms stayed: the whole multi-arch image copies out.
    skopeo("copy", "--all", *pull, f"{base}:1", f"oci:{tmp_path / 'back'}:1")
    gone = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", skopeo.creds,
                  f"{base}@{first.index.digest}", check=False)
    assert gone.returncode != 0 and b"manifest unknown" in gone.stderr.lower()


def test_a_push_over_quota_is_refused_with_a_message_naming_it(berth, skopeo, tmp_path):
    token = berth.manage("create_token", "quota-user", "--scopes", "write:packages,delete:packages",
                         "--create-user", "--note", "quota test").strip()
    creds = f"quota-user:{token}"
    push = ("copy", "--dest-tls-verify=false", "--dest-creds", creds)
    first = images.write_single_image_layout(tmp_path / "first", tag="1", files={"a.txt": b"fits\n"})
    skopeo(*push, f"oci:{first.path}:1", f"docker://{berth.host}/quota-user/app:1")
    berth.manage("set_quota", "quota-user", "1")
    try:
        second = images.write_single_image_layout(tmp_path / "second", tag="2", files={"a.txt": b"too much\n"})
        refused = skopeo(*push, f"oci:{second.path}:2", f"docker://{berth.host}/quota-user/app:2", check=False)
        assert refused.returncode != 0
        assert b"quota is 1 bytes" in refused.stderr and b"Free space" in refused.stderr, refused.stderr
        # Pulls are unaffected.
        skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds,
               f"docker://{berth.host}/quota-user/app:1")
    finally:
        berth.manage("set_quota", "quota-user", "none")
