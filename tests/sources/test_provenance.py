"""Provenance: what a version a CI job pushed records, the sentence that tells it, and what events carry."""

from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.authentication import Credential
from accounts.registry_tokens import RegistryGrant
from events.models import Event, EventType
from registry.api.manifests import ManifestView
from registry.models import Package
from registry.oci import media_types as mt
from sources import services
from sources.models import Provenance
from sources.provenance import Published, commit_url, published
from tests.sources.provenance_helpers import GITHUB, SHA, URL, image, job_for, put, register


def test_a_job_push_records_the_jobs_repository_ref_commit_workflow_and_run(api):
    repository = register()
    manifest = put(image(api), job=job_for(repository))

    provenance = Provenance.objects.get(manifest=manifest)
    assert provenance.repository == repository
    assert provenance.repository_url == URL
    assert provenance.issuer == GITHUB
    assert (provenance.ref, provenance.sha, provenance.workflow, provenance.run_id) == (
        "refs/heads/main", SHA, "release.yml", "4242")


def put_as(job, raw: bytes, reference: str = "v1", name: str = "alice/app"):
    """PUT raw through /v2/'s manifest view as a CI job whose registry token grants it pull and push on name."""
    request = APIRequestFactory().put(f"/v2/{name}/manifests/{reference}", raw, content_type=mt.OCI_MANIFEST)
    grant = RegistryGrant(user_id=None, pat_id=None, access={name: frozenset({"pull", "push"})})
    force_authenticate(request, user=AnonymousUser(), token=Credential(pat=None, grant=grant, job=job))
    return ManifestView.as_view()(request, name=name, reference=reference)


def test_a_manifest_put_by_a_ci_job_records_its_provenance_and_names_the_job_as_pusher(api):
    repository = register()
    raw = image(api)
    services.package_connect(package=Package.objects.get(name="alice/app"), repository=repository)

    response = put_as(job_for(repository), raw)
    assert response.status_code == 201, response.content
    provenance = Provenance.objects.get(manifest__digest=response["Docker-Content-Digest"])
    assert (provenance.repository_url, provenance.run_id) == (URL, "4242")
    assert Event.objects.get(type=EventType.PUBLISHED).data["pusher"] == "alice/app"


def test_a_manifest_put_by_a_person_records_none(api):
    register()
    response = api.put("/v2/alice/app/manifests/v1", image(api), content_type=mt.OCI_MANIFEST)
    assert response.status_code == 201, response.content
    assert not Provenance.objects.exists()
    assert Event.objects.get(type=EventType.PUBLISHED).data["pusher"] == "alice"


def test_a_person_push_records_no_provenance(api, django_user_model):
    alice = django_user_model.objects.get(username="alice")
    register()
    put(image(api), by=alice)
    assert not Provenance.objects.exists()


def test_a_later_run_pushing_the_same_digest_replaces_the_record(api):
    repository = register()
    raw = image(api)
    first = put(raw, "v1", job=job_for(repository, run_id="4242", ref="refs/heads/main"))
    again = put(raw, "v1.0.0", job=job_for(repository, run_id="4300", ref="refs/tags/v1.0.0"))

    assert again.pk == first.pk
    provenance = Provenance.objects.get()
    assert (provenance.run_id, provenance.ref) == ("4300", "refs/tags/v1.0.0")


def test_provenance_outlives_its_repository(api):
    repository = register()
    manifest = put(image(api), job=job_for(repository))
    repository.delete()
    provenance = Provenance.objects.get(manifest=manifest)
    assert provenance.repository is None and provenance.repository_url == URL


def test_the_sentence_names_repository_commit_ref_and_run():
    shown = Published(repository="alice/app", repository_url=URL, ref="refs/heads/main", sha=SHA,
                      workflow="release.yml", run_id="4242", issuer=GITHUB)
    assert shown.sentence == "published by alice/app at 1a2b3c4 on refs/heads/main, run 4242"


def test_the_sentence_leaves_out_what_the_token_did_not_say():
    shown = Published(repository="group/sub/app", repository_url="https://gitlab.example/group/sub/app", ref="",
                      sha="", workflow="", run_id="", issuer="https://gitlab.example")
    assert shown.sentence == "published by group/sub/app"


def test_published_reads_the_record(api):
    manifest = put(image(api), job=job_for(register()))
    shown = published(Provenance.objects.get(manifest=manifest))
    assert shown.repository == "alice/app" and shown.short_sha == "1a2b3c4"
    assert shown.commit_url == f"{URL}/commit/{SHA}"
    assert published(None) is None


def test_commit_links_follow_the_forges_shape_and_stay_plain_when_unsure():
    assert commit_url("https://github.com/alice/app", SHA) == f"https://github.com/alice/app/commit/{SHA}"
    assert commit_url("https://codeberg.org/alice/app", SHA) == f"https://codeberg.org/alice/app/commit/{SHA}"
    assert commit_url("https://gitea.example/alice/app", SHA) == f"https://gitea.example/alice/app/commit/{SHA}"
    assert commit_url("https://gitlab.com/group/app", SHA) == f"https://gitlab.com/group/app/-/commit/{SHA}"
    assert commit_url("https://git.example/alice/app", SHA) == ""
    assert commit_url("https://github.com/alice/app", "main; rm -rf") == ""
    assert commit_url("javascript:alert(1)//github", SHA) == ""


def test_the_published_event_carries_the_provenance_and_names_the_job_as_pusher(api):
    job = job_for(register())
    manifest = put(image(api), job=job)

    event = Event.objects.get(type=EventType.PUBLISHED)
    assert event.data["pusher"] == "alice/app"
    provenance = event.data["version"]["provenance"]
    assert provenance["repository_url"] == URL and provenance["sha"] == SHA and provenance["run_id"] == "4242"
    assert provenance["summary"] == "published by alice/app at 1a2b3c4 on refs/heads/main, run 4242"
    assert event.subject == manifest.digest


def test_events_name_the_connected_repository_before_the_source_label(api):
    repository = register()
    raw = image(api, labels={"org.opencontainers.image.source": "https://git.example/fork"})
    assert Package.objects.filter(name="alice/app").update(source_repository=repository) == 1
    manifest = put(raw, job=job_for(repository))

    event = Event.objects.get(type=EventType.PUBLISHED, subject=manifest.digest)
    assert event.data["repository"] == URL
    assert event.data["version"]["connected_repository"] == URL
    assert event.data["version"]["source"] == "https://git.example/fork"


def test_a_person_push_event_has_no_provenance(api, django_user_model):
    alice = django_user_model.objects.get(username="alice")
    put(image(api), by=alice)
    event = Event.objects.get(type=EventType.PUBLISHED)
    assert event.data["version"]["provenance"] is None and event.data["pusher"] == "alice"
