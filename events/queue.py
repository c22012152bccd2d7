"""The database queue: enqueue jobs, claim due ones without blocking other workers, run them."""

import contextlib
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


# How long a recurring job is taken by the worker running it: if that worker dies, another runs it then.
LEASE = timedelta(hours=1)


def _retry_at(attempts: int) -> datetime:
    return timezone.now() + min(timedelta(seconds=10 * 2 ** min(attempts, 10)), timedelta(hours=1))


def job_run_next() -> bool:
    """Run one due job; return False when none was due.

    A one-off job (a delivery) runs holding its row lock, in the claim's transaction. A recurring
    one (retention, the fold, the purges) is leased instead and runs outside it, as the commands
    doing the same work do: a retention run's deletions each commit in their own transaction
    rather than holding every deleted version's lock until the whole run ends.
    """
    with transaction.atomic():
        job = _claim()
        if job is None:
            return False
        if job.key is not None and job.interval is not None:
            job.run_at = timezone.now() + min(LEASE, timedelta(seconds=job.interval))
            job.save(update_fields=["run_at"])
            leased = True
        else:
            leased = False
            # In a savepoint: a failing handler's writes roll back, the job's retry is kept.
            _run(job, atomic=True)
    if leased:
        _run(job, atomic=False)
    return True


def _run(job: Job, *, atomic: bool) -> None:
    """Run job's handler, then schedule it again, retry it after a failure, or delete it when done."""
    function = HANDLERS.get(job.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        with transaction.atomic() if atomic else contextlib.nullcontext():
            again = function(job.payload)
    except Exception as exc:  # a failing job must not stop the worker; it is retried later
        log.exception("job %s failed", job)
        job.attempts += 1
        job.last_error = repr(exc)[:2000]
        job.run_at = _retry_at(job.attempts)
        Job.objects.filter(pk=job.pk).update(attempts=job.attempts, last_error=job.last_error, run_at=job.run_at)
        return
    if again is None and job.interval is not None:
        again = timezone.now() + timedelta(seconds=job.interval)
    if again is None:
        job.delete()
    else:
        job.run_at, job.attempts = again, job.attempts + 1
        Job.objects.filter(pk=job.pk).update(run_at=job.run_at, attempts=job.attempts)
