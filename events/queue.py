"""The database queue: enqueue jobs, claim due ones without blocking other workers, run them."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from events.models import Job

log = logging.getLogger("berth.worker")

# kind -> handler(payload) returning when to run the job again, or None when it is done.
Handler = Callable[[dict], datetime | None]
HANDLERS: dict[str, Handler] = {}
# Recurring jobs: key -> (kind, interval in seconds), put in the queue by every worker that starts.
RECURRING: dict[str, tuple[str, Callable[[], int]]] = {}


def handler(kind: str):
    """Register a function as the handler of jobs of kind."""
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function
    return register


def job_enqueue(*, kind: str, payload: dict | None = None, run_at: datetime | None = None) -> Job:
    return Job.objects.create(kind=kind, payload=payload or {}, run_at=run_at or timezone.now())


def recurring_ensure() -> None:
    """Make sure each recurring job is in the queue once, at its interval now; an interval of 0 takes it out."""
    for key, (kind, interval) in RECURRING.items():
        seconds = interval()
        if seconds <= 0:
            Job.objects.filter(key=key).delete()
            continue
        if Job.objects.filter(key=key).exists():
            # A changed setting applies from the job's next run.
            Job.objects.filter(key=key).exclude(interval=seconds).update(interval=seconds)
            continue
        try:
            with transaction.atomic():
                Job.objects.create(kind=kind, key=key, interval=seconds)
        except IntegrityError:
            pass  # another worker made it


def _claim():
    jobs = Job.objects.filter(run_at__lte=timezone.now()).order_by("run_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        jobs = jobs.select_for_update(skip_locked=True)
    return jobs.first()


def job_run_next() -> bool:
    """Run one due job, holding its row lock until it is done; return False when none was due."""
    with transaction.atomic():
        job = _claim()
        if job is None:
            return False
        function = HANDLERS.get(job.kind)
        try:
            if function is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            with transaction.atomic():
                again = function(job.payload)
        except Exception as exc:  # a failing job must not stop the worker; it is retried later
            log.exception("job %s failed", job)
            job.attempts += 1
            job.last_error = repr(exc)[:2000]
            job.run_at = timezone.now() + min(timedelta(seconds=10 * 2 ** min(job.attempts, 10)), timedelta(hours=1))
            job.save(update_fields=["attempts", "last_error", "run_at"])
            return True
        if again is None and job.interval is not None:
            again = timezone.now() + timedelta(seconds=job.interval)
        if again is None:
            job.delete()
        else:
            job.run_at, job.attempts = again, job.attempts + 1
            job.save(update_fields=["run_at", "attempts"])
    return True
