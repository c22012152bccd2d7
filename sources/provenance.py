"""Provenance of versions CI jobs push, the sentence that tells it, and connecting a package from its source label.

A version a CI job pushed records the job's repository, ref, commit, workflow and run
(sources.models.Provenance); versions people push have none. A person who administers a package
and pushes a version labelled with one of the owner's registered repository URLs
(`org.opencontainers.image.source`) connects the package to that repository.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from sources.identity import JobIdentity, repository_path
from sources.models import Provenance, SourceRepository

SOURCE = "org.opencontainers.image.source"
SHORT_SHA = 7
SHA = re.compile(r"[0-9a-fA-F]{7,64}")
# Hosts whose web UI shows a commit at REPOSITORY/-/commit/SHA; the others we know at REPOSITORY/commit/SHA.
GITLAB_HOSTS = ("gitlab",)
COMMIT_HOSTS = ("github", "gitea", "forgejo", "codeberg")


def provenance_record(*, manifest, job: JobIdentity) -> Provenance:
    """Record that job pushed manifest, replacing what an earlier run recorded for the same digest.

    The latest publishing run wins, as GitHub shows it: a re-push of the same bytes by a later run
    (a rebuild, a re-tag on a release) is what people look for when they ask where a version came from.
    """
    repository = SourceRepository.objects.filter(pk=job.repository_id).first()
    provenance, _ = Provenance.objects.update_or_create(manifest=manifest, defaults={
        "repository": repository, "repository_url": job.repository_url, "issuer": job.issuer, "ref": job.ref,
        "sha": job.sha, "workflow": job.workflow, "run_id": job.run_id, "created_at": timezone.now(),
    })
    return provenance


def provenance_of(manifest) -> Provenance | None:
    """Return manifest's provenance as already read with it (select_related), or None for a person's push."""
    try:
        return manifest.provenance
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class Published:
    """What the pages and the REST API say about a version a CI job pushed."""

    repository: str         # alice/app
    repository_url: str
    ref: str
    sha: str
    workflow: str
    run_id: str
    issuer: str

    @property
    def short_sha(self) -> str:
        return self.sha[:SHORT_SHA]

    @property
    def repository_link(self) -> str:
        """Return the repository URL if it is a web page to link (never javascript: and the like), else ""."""
        return self.repository_url if urlsplit(self.repository_url).scheme in ("http", "https") else ""

    @property
    def commit_url(self) -> str:
        """Return the commit's page on the repository's forge, or "" where we don't know its shape."""
        return commit_url(self.repository_url, self.sha)

    @property
    def sentence(self) -> str:
        """Return "published by alice/app at 1a2b3c4 on refs/heads/main, run 4242", leaving out what's unknown."""
        text = f"published by {self.repository}"
        if self.sha:
            text += f" at {self.short_sha}"
        if self.ref:
            text += f" on {self.ref}"
        if self.run_id:
            text += f", run {self.run_id}"
        return text

    def as_dict(self) -> dict:
        return {"repository": self.repository, "repository_url": self.repository_url, "issuer": self.issuer,
                "ref": self.ref, "sha": self.sha, "workflow": self.workflow, "run_id": self.run_id,
                "commit_url": self.commit_url, "summary": self.sentence}


def published(provenance: Provenance | None) -> Published | None:
    """Return what a provenance record shows, or None for a version a person pushed."""
    if provenance is None:
        return None
    return Published(repository=repository_path(provenance.repository_url), repository_url=provenance.repository_url,
                     ref=provenance.ref, sha=provenance.sha, workflow=provenance.workflow,
                     run_id=provenance.run_id, issuer=provenance.issuer)


def commit_url(repository_url: str, sha: str) -> str:
    """Return REPOSITORY/commit/SHA (GitHub, Gitea, Forgejo) or REPOSITORY/-/commit/SHA (GitLab), else ""."""
    parts = urlsplit(repository_url)
    if parts.scheme not in ("http", "https") or not SHA.fullmatch(sha or ""):
        return ""
    host = parts.hostname or ""
    if any(name in host for name in GITLAB_HOSTS):
        return f"{repository_url}/-/commit/{sha}"
    if any(name in host for name in COMMIT_HOSTS):
        return f"{repository_url}/commit/{sha}"
    return ""


def source_urls(manifest) -> list[str]:
    """Return the distinct source URLs a manifest names: its annotation first, then its config label."""
    urls = []
    for values in (manifest.annotations, manifest.labels):
        value = values.get(SOURCE) if isinstance(values, dict) else None
        url = value.strip() if isinstance(value, str) else ""
        if url and url not in urls:
            urls.append(url)
    return urls


def connect_from_labels(*, package, manifest, user) -> bool:
    """Connect package to the owner's repository manifest's source label names, if user may administer it.

    Only a person's push connects (a CI job's package is connected when the job creates it), and only
    a package that isn't connected yet: a label never moves a package from one repository to another.
    """
    # sources.services reaches events.outbox (through registry's services), which imports this module.
    from sources.services import connect_from_source

    if package.source_repository_id is not None or user is None:
        return False
    # connect_from_source compares them normalised (sources.services.normalize_url: case, slash, .git).
    return any(connect_from_source(package=package, source_url=url, user=user) for url in source_urls(manifest))
