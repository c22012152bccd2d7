"""A CI job as a principal: what its verified OIDC token and its registered repository say."""

import fnmatch
from dataclasses import dataclass
from urllib.parse import urlsplit


def repository_path(url: str) -> str:
    """Return a repository URL's path, how people name the repository: alice/app, group/sub/app."""
    return urlsplit(url).path.strip("/")


@dataclass(frozen=True)
class JobIdentity:
    """A CI job of a registered source repository, on one ref, in one run.

    Built from accounts.oidc.JobClaims and the SourceRepository row (sources.services.job_identity)
    at /token and by the REST API, and from a registry token's `job` claim at /v2/.
    """

    repository_id: int
    repository_url: str
    namespace: str          # the repository owner's namespace: where the job may create packages
    issuer: str
    ref: str = ""
    sha: str = ""
    workflow: str = ""
    run_id: str = ""
    push_refs: tuple[str, ...] = ()
    expires_at: int = 0     # epoch seconds; a registry token for this job lives no longer

    @property
    def may_push(self) -> bool:
        """Return True if the job's ref may push (and delete): no push_refs, or one of them matches."""
        return not self.push_refs or any(fnmatch.fnmatchcase(self.ref, glob) for glob in self.push_refs)

    @property
    def username(self) -> str:
        """Return how logs and events name the job: its repository URL's path (alice/app)."""
        return repository_path(self.repository_url)

    def claims(self) -> dict:
        """Return the registry token's `job` claim for this identity."""
        return {"rid": self.repository_id, "url": self.repository_url, "ns": self.namespace, "iss": self.issuer,
                "ref": self.ref, "sha": self.sha, "wf": self.workflow, "run": self.run_id,
                "push_refs": list(self.push_refs), "exp": self.expires_at}

    @classmethod
    def from_claims(cls, job: dict) -> "JobIdentity":
        """Return the identity a registry token's `job` claim carries (sources.services re-reads the repository)."""
        return cls(repository_id=int(job["rid"]), repository_url=str(job["url"]), namespace=str(job["ns"]),
                   issuer=str(job.get("iss", "")), ref=str(job.get("ref", "")), sha=str(job.get("sha", "")),
                   workflow=str(job.get("wf", "")), run_id=str(job.get("run", "")),
                   push_refs=tuple(job.get("push_refs") or ()), expires_at=int(job.get("exp") or 0))
