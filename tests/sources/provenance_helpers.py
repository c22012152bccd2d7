"""Helpers for the provenance tests: registered repositories, CI job identities and pushes made by a job."""

from accounts.models import Namespace
from registry.models import Manifest, Package
from registry.oci import media_types as mt
from registry.services.manifests import manifest_put
from sources.identity import JobIdentity
from sources.models import SourceRepository
from tests.registry.helpers import OCI_LAYER, REPO, descriptor, image_config, manifest_bytes, push_blob

GITHUB = "https://token.actions.githubusercontent.com"
URL = "https://github.com/alice/app"
SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


def register(namespace: str = "alice", url: str = URL, issuer: str = GITHUB) -> SourceRepository:
    """Register url as namespace's source repository (as sources.services.repository_add stores it)."""
    return SourceRepository.objects.create(namespace=Namespace.objects.get(name=namespace), url=url, issuer=issuer,
                                           claim=url.split("://", 1)[1].split("/", 1)[1])


def job_for(repository: SourceRepository, **overrides) -> JobIdentity:
    """Return a job of repository on refs/heads/main at SHA in run 4242 of release.yml."""
    fields = {"repository_id": repository.pk, "repository_url": repository.url,
              "namespace": repository.namespace.name, "issuer": repository.issuer, "ref": "refs/heads/main",
              "sha": SHA, "workflow": "release.yml", "run_id": "4242", **overrides}
    return JobIdentity(**fields)


def image(api, *, name: str = REPO, labels: dict | None = None, annotations: dict | None = None,
          layer: bytes = b"layer") -> bytes:
    """Push an image's blobs to name through api and return its manifest's bytes (not yet pushed)."""
    config = image_config(labels=labels)
    push_blob(api, config, name)
    push_blob(api, layer, name)
    extra = {"annotations": annotations} if annotations else {}
    return manifest_bytes(config=descriptor(config, mt.OCI_CONFIG), layers=[descriptor(layer, OCI_LAYER)], **extra)


def put(raw: bytes, reference: str = "v1", *, name: str = REPO, job: JobIdentity | None = None, by=None
        ) -> Manifest:
    """Push raw to name as job (a CI job) or by (a person), through the service /v2/ calls."""
    manifest, _ = manifest_put(package=Package.objects.get(name=name), reference=reference, raw=raw,
                               content_type=mt.OCI_MANIFEST, job=job, by=by)
    return manifest
