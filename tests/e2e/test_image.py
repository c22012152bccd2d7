"""The production image (Dockerfile), built and run here: on PostgreSQL and S3, pushed to and pulled from.

The machine can't pull python:3.11-slim, so the image is built on a local base: a Debian root
made with debootstrap (minbase, python3, python3-venv, ca-certificates) from the mirror this
machine's apt uses, imported with `docker import` and chosen with --build-arg BASE. The root
also trusts the CA certificates this machine adds (/usr/local/share/ca-certificates), so pip
inside the build reaches PyPI the way the machine does; pip's settings go in as build arguments.

debootstrap takes a minute or two, so the root's tar is kept in BERTH_TEST_CACHE
(/var/cache/berth-tests) under a name keyed by everything that goes into it: suite, mirror,
packages and those CA certificates. Anything else (the Dockerfile, requirements, code) is
rebuilt every run.
"""

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e import images
from tests.pgplugin import create_database, free_port
from tests.s3 import bucket_objects, s3_server  # noqa: F401
from tests.servers import ROOT, http_up, require_tool, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Bump when the way the root is made changes, so no cached tar of the old recipe is used.
RECIPE = "1"
CACHE = Path(os.environ.get("BERTH_TEST_CACHE", "/var/cache/berth-tests"))
EXTRA_CAS = Path("/usr/local/share/ca-certificates")
# The Debian path of the system CA bundle, inside the base: pip (ensurepip's, certifi-based) uses it.
BASE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PIP_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT")
# Left out of the image: what debootstrap's apt needed, and documentation.
SLIMMED = ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/locale",
           "usr/share/info")


def debian_suite() -> str:
    """Return this machine's Debian release (its mirror surely serves it), or bookworm."""
    fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    if fields.get("ID") == "debian" and fields.get("VERSION_CODENAME"):
        return fields["VERSION_CODENAME"].strip('"')
    return "bookworm"


def debian_mirror(suite: str) -> str:
    """Return the Debian mirror this machine's apt uses for suite (deb822 .sources or sources.list)."""
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines()
                          if ":" in line and not line.lstrip().startswith("#"))
            fields = {key.strip().lower(): value.split() for key, value in fields.items()}
            if suite in fields.get("suites", []) and "deb" in fields.get("types", []):
                return fields["uris"][0]
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        for line in path.read_text().splitlines() if path.exists() else []:
            words = [word for word in line.split("#", 1)[0].split() if not word.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                return words[1]
    return "http://deb.debian.org/debian"


def debian_root_tar(work: Path) -> Path:
    """Return a tar of a minimal Debian root with python3, made with debootstrap or taken from the cache."""
    debootstrap = require_tool("debootstrap")  # even with a cached root: a fresh CI machine needs it
    suite = debian_suite()
    mirror = debian_mirror(suite)
    cas = sorted(EXTRA_CAS.rglob("*.crt")) if EXTRA_CAS.exists() else []
    key = hashlib.sha256("\n".join([RECIPE, suite, mirror, *PACKAGES, *(
        f"{ca.relative_to(EXTRA_CAS)}:{hashlib.sha256(ca.read_bytes()).hexdigest()}" for ca in cas)]).encode())
    name = f"debian-{suite}-python3-{key.hexdigest()[:16]}.tar"
    cached = CACHE / name
    if cached.exists():
        return cached
    if os.geteuid() != 0:
        pytest.skip("debootstrap needs root")
    root = work / "root"
    make_root(root, debootstrap, suite, mirror, cas)
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        target = cached if os.access(CACHE, os.W_OK) else work / name
    except OSError:
        target = work / name  # no cache to write to: this run only
    partial = target.with_name(f".{name}.{uuid.uuid4().hex}")
    try:
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], check=True)
        partial.rename(target)  # atomic: a concurrent run sees the whole tar or none
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(root)
    for old in target.parent.glob("debian-*-python3-*.tar"):
        if old != target:
            old.unlink(missing_ok=True)  # made by an older recipe or for other CAs
    return target


def make_root(root: Path, debootstrap: str, suite: str, mirror: str, cas: list[Path]) -> None:
    """Make a minimal Debian root with PACKAGES that trusts cas too, without apt's lists or docs."""
    result = subprocess.run(
        [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror],
        capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"debootstrap failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    if cas:
        trusted = root / EXTRA_CAS.relative_to("/")
        for ca in cas:
            (trusted / ca.relative_to(EXTRA_CAS)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ca, trusted / ca.relative_to(EXTRA_CAS))
        subprocess.run(["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True)
    for folder in SLIMMED:
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)


def pip_build_args() -> list[str]:
    """Return --build-arg options that let pip in the build reach PyPI as this machine's pip does."""
    args = ["--build-arg", f"PIP_CERT={BASE_CA_BUNDLE}"]
    for name in PIP_SETTINGS:
        if os.environ.get(name):
            args += ["--build-arg", f"{name}={os.environ[name]}"]
    return args


@pytest.fixture(scope="module")
def image(dockerd, tmp_path_factory) -> str:
    """Berth's production image, built on the local Debian base."""
    tar = debian_root_tar(tmp_path_factory.mktemp("debian"))
    base = f"berth-test/debian-python3:{tar.stem.rsplit('-', 1)[1]}"
    dockerd.docker("import", str(tar), base)
    dockerd.docker("build", "--network", "host", "--build-arg", f"BASE={base}", *pip_build_args(),
                   "-t", "berth-test/berth:image", str(ROOT), timeout=1800)
    return "berth-test/berth:image"


@pytest.fixture
def container(dockerd, image, s3_server):  # noqa: F811
    """The image running with --network host against a fresh database and bucket."""
    bucket = s3_server.create_bucket()
    port = free_port()
    env = {
        "DATABASE_URL": create_database("berth_image"),
        "SECRET_KEY": "berth-image-test-secret-key-not-for-production",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **s3_server.env(bucket, redirect=True),
    }
    name = f"berth-image-{uuid.uuid4().hex[:8]}"
    options = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    # The image's HEALTHCHECK (its command, timeout and start period) with a 1 s interval instead
    # of its 30 s: the first check would otherwise come 30 s after the start.
    dockerd.docker("run", "-d", "--network", "host", "--name", name, "--health-interval", "1s", *options, image)

    def up() -> bool:
        state = dockerd.docker("inspect", "-f", "{{.State.Running}}", name).stdout.decode().strip()
        if state != "true":
            logs = dockerd.docker("logs", name, check=False)
            raise RuntimeError(f"the container stopped:\n{(logs.stdout + logs.stderr).decode(errors='replace')}")
        return http_up(f"http://127.0.0.1:{port}/v2/", timeout=2)

    try:
        wait_until(up, timeout=120, what="Berth in its container")
        yield name, f"127.0.0.1:{port}", bucket
    finally:
        logs = dockerd.docker("logs", name, check=False)
        print((logs.stdout + logs.stderr).decode(errors="replace")[-5000:])
        dockerd.docker("rm", "-f", name, check=False)


def test_image_serves_pushes_and_pulls_as_non_root_and_reports_healthy(dockerd, image, container, s3_server):  # noqa: F811
    name, host, bucket = container
    token = dockerd.docker("exec", name, "python", "manage.py", "create_token", "alice", "--create-user",
                           "--scopes", "write:packages,delete:packages").stdout.decode().strip()
    dockerd.docker("login", host, "-u", "alice", "--password-stdin", input=token.encode())

    content = f"pushed through the production image, run {uuid.uuid4()}\n".encode()
    dockerd.docker("import", "-", "berth-test/image-payload:1",
                   input=images.tar_bytes({"hello.txt": content, "etc/os-release": b"ID=berth-test\n"}))
    ref = f"{host}/alice/image-payload:1"
    dockerd.docker("tag", "berth-test/image-payload:1", ref)
    image_id = dockerd.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.decode().strip()
    dockerd.docker("push", ref)
    stored = bucket_objects(s3_server, bucket)
    assert stored and all(key.startswith("blobs/") for key in stored), stored  # the layer and config, in S3

    dockerd.docker("rmi", ref, "berth-test/image-payload:1")
    dockerd.docker("pull", ref)  # blobs through 307s to presigned S3 URLs
    assert dockerd.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.decode().strip() == image_id
    exported = dockerd.docker("create", ref, "true").stdout.decode().strip()
    try:
        assert images.tar_files(dockerd.docker("export", exported).stdout)["hello.txt"] == content
    finally:
        dockerd.docker("rm", exported, check=False)

    # Every process in the container (gunicorn's master is PID 1, then its workers) runs as the
    # image's user, not root. A snapshot taken while runc sets up an exec (the 1 s health check's)
    # shows runc's own init, root for a moment before it becomes the command as the image's user:
    # take the snapshot again until none is in flight.
    for _ in range(50):
        uids = dockerd.docker("exec", name, "python", "-c", (
            "import pathlib\n"
            "for p in pathlib.Path('/proc').glob('[0-9]*'):\n"
            "    try:\n"
            "        cmd = (p / 'cmdline').read_bytes().replace(b'\\0', b' ').decode().strip()\n"
            "        status = (p / 'status').read_text().splitlines()\n"
            "    except FileNotFoundError:\n"
            "        continue  # a process that just ended\n"
            "    print(next(line.split()[1] for line in status if line.startswith('Uid:')), cmd)\n"
        )).stdout.decode().splitlines()
        if not any(line.split(None, 1)[1:] == ["runc init"] for line in uids):
            break
        time.sleep(0.1)
    gunicorn = [line for line in uids if "gunicorn" in line]
    assert len(gunicorn) >= 2, uids  # the master and at least one worker
    assert all(line.split()[0] != "0" for line in uids), uids
    assert dockerd.docker("inspect", "-f", "{{.Config.User}}", name).stdout.decode().strip() == "berth"

    # The image's own HEALTHCHECK turns the container healthy (run with a short interval, above).
    check = dockerd.docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", name).stdout.decode()
    assert "config/healthcheck.py" in check, check
    interval = dockerd.docker("image", "inspect", "-f", "{{.Config.Healthcheck.Interval}}", image).stdout.decode()
    assert interval.strip() == "30s", interval  # what the Dockerfile says

    def healthy() -> bool:
        status = dockerd.docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.decode().strip()
        assert status in ("starting", "healthy"), status
        return status == "healthy"

    wait_until(healthy, timeout=120, what="the HEALTHCHECK to report healthy")
