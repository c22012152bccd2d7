"""manage.py worker: run background jobs from the database queue until stopped."""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

import events.jobs  # noqa: F401 - registers the handlers
from events.queue import job_run_next, recurring_ensure

log = logging.getLogger("berth.worker")


class Command(BaseCommand):
    help = ("Deliver webhooks and run scheduled work (the download-count fold, retention policies, purges of old "
            "audit entries and webhook deliveries) from the database queue.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run the jobs due now, then exit.")

    def handle(self, *args, once=False, **options):
        self.stopping = False
        # SIGTERM (docker stop, the tests) ends the worker after the job it is running, not during it.
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.stdout.write("worker started", ending="\n")
        self.stdout.flush()
        ensured = False
        while not self.stopping:
            try:
                if not ensured:
                    recurring_ensure()
                    ensured = True
                if job_run_next():
                    continue
            except DatabaseError as exc:
                # The database is down or restarting: wait and try again with a new connection.
                log.warning("worker: database unavailable (%s); retrying", exc)
                close_old_connections()
            if once:
                break
            close_old_connections()
            time.sleep(settings.BERTH_WORKER_POLL_INTERVAL)

    def stop(self, signum, frame):
        self.stopping = True
