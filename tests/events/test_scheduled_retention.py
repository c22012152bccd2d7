"""The worker applies the retention policies every BERTH_RETENTION_INTERVAL seconds, as `manage.py retention` does."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Action, AuditEntry
from events.models import Job
from events.queue import job_run_next, recurring_ensure
from registry.models import Manifest
from retention.models import RetentionRun
from retention.services import policy_set
from tests.helpers import OWNER
from tests.registry.helpers import push_image

RETENTION_JOB = "retention.run"


def old_untagged(api, tag: str) -> str:
    """Push a version under tag, untag it, and make it 30 days old; return its digest."""
    digest, _ = push_image(api, tag, layers=(tag.encode(),))
    assert api.delete(f"/v2/{OWNER}/app/manifests/{tag}").status_code == 202
    Manifest.objects.filter(digest=digest).update(pushed_at=timezone.now() - timedelta(days=30))
    return digest


def deleted(digest: str) -> bool:
    return Manifest.objects.get(digest=digest).deleted_at is not None


def run_due_jobs() -> None:
    while job_run_next():
        pass


def worker_once() -> None:
    call_command("worker", "--once", stdout=io.StringIO())


@pytest.fixture
def policy(api, settings):
    settings.BERTH_RETENTION_INTERVAL = 3600
    push_image(api, "latest")
    policy_set(owner=OWNER, delete_untagged_after_days=7)


def test_the_worker_runs_the_policies_on_start_and_then_every_interval(api, policy):
    first = old_untagged(api, "first")
    worker_once()
    assert deleted(first)
    (run,) = RetentionRun.objects.all()
    assert (run.owner, run.dry_run, run.deleted_count) == (OWNER, False, 1)
    audited = AuditEntry.objects.get(action=Action.RETENTION_RUN)
    assert (audited.namespace, audited.actor, audited.actor_name) == (OWNER, None, "retention policy")
    assert audited.data == {"deleted": 1, "freed_bytes": run.freed_bytes, "run": run.pk}

    second = old_untagged(api, "second")
    run_due_jobs()
    assert not deleted(second)  # not due again for an hour
    job = Job.objects.get(key=RETENTION_JOB)
    assert job.interval == 3600
    assert timedelta(minutes=59) < job.run_at - timezone.now() <= timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(seconds=1))  # an hour passes
    run_due_jobs()
    assert deleted(second)
    assert RetentionRun.objects.count() == 2


def test_the_worker_keeps_what_the_rules_keep(api, policy):
    kept = push_image(api, "kept", layers=(b"kept",))[0]
    Manifest.objects.filter(digest=kept).update(pushed_at=timezone.now() - timedelta(days=30))
    worker_once()
    assert not deleted(kept)  # tagged: a delete_untagged rule keeps it
    assert RetentionRun.objects.get().deleted_count == 0


def test_interval_zero_turns_the_schedule_off(api, policy, settings):
    recurring_ensure()
    settings.BERTH_RETENTION_INTERVAL = 0
    digest = old_untagged(api, "old")
    worker_once()
    assert not deleted(digest)
    assert not RetentionRun.objects.exists()
    assert not Job.objects.filter(key=RETENTION_JOB).exists()


def test_a_changed_interval_applies_to_the_queued_job(api, policy, settings):
    recurring_ensure()
    settings.BERTH_RETENTION_INTERVAL = 600
    recurring_ensure()
    assert Job.objects.get(key=RETENTION_JOB).interval == 600


def test_a_failing_run_keeps_what_it_already_deleted_and_is_retried(api, policy, monkeypatch):
    # The worker's run is the command's: each deletion commits on its own, not when the whole run ends.
    from retention import services

    digest = old_untagged(api, "old")
    policy_set(owner="zed", delete_untagged_after_days=7)  # run after alice's
    real = services.retention_run

    def fails_for_zed(*, owner, **kwargs):
        if owner == "zed":
            raise RuntimeError("storage went away")
        return real(owner=owner, **kwargs)

    monkeypatch.setattr(services, "retention_run", fails_for_zed)
    recurring_ensure()
    Job.objects.exclude(key=RETENTION_JOB).delete()
    assert job_run_next()
    assert deleted(digest) and RetentionRun.objects.filter(owner=OWNER).exists()
    job = Job.objects.get(key=RETENTION_JOB)
    assert "storage went away" in job.last_error and job.attempts == 1
    assert timedelta(0) < job.run_at - timezone.now() <= timedelta(seconds=30)
