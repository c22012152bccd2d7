"""Harness for the source repository tests: trusted issuers, packages, CI job identities and callers."""

from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from accounts import access
from registry.services.packages import package_get_or_create
from sources.identity import JobIdentity

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.example.com"
ISSUERS = [
    {"issuer": GITHUB, "audience": "berth", "repository_url": "https://github.com/{repository}",
     "jwks_file": "/nonexistent/jwks.json"},
    {"issuer": GITLAB, "audience": "berth", "repository_claim": "project_path",
     "repository_url": "https://gitlab.example.com/{repository}", "jwks_file": "/nonexistent/jwks.json"},
]


def package(name: str, visibility: str = "private"):
    created, _ = package_get_or_create(name=name)
    if visibility != "private":
        created.visibility = visibility
        created.save(update_fields=["visibility"])
    return created


def job_for(repository, ref: str = "refs/heads/main") -> JobIdentity:
    return JobIdentity(repository_id=repository.pk, repository_url=repository.url,
                       namespace=repository.namespace.name, issuer=repository.issuer, ref=ref, sha="1a2b3c4",
                       workflow="ci", run_id="4242", push_refs=tuple(repository.push_refs))


def job_caller(job: JobIdentity) -> access.Caller:
    return access.Caller(AnonymousUser(), access.ALL_ACTIONS, None, True, job=job)


def user_caller(user) -> access.Caller:
    return access.Caller(user, access.ALL_ACTIONS, None, True)


def v2_request():
    return RequestFactory().get("/v2/", HTTP_HOST="testserver")


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
