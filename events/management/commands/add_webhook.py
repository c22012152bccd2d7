"""manage.py add_webhook OWNER[/NAME] URL --secret SECRET [--events EVENT,...] [--format cloudevents|github]"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Namespace
from events.models import EventType, Webhook
from events.services import WebhookInvalid, webhook_create
from events.targets import TargetRefused
from registry.models import Package


class Command(BaseCommand):
    help = "Call URL on events of every package of OWNER, or of the package OWNER/NAME."

    def add_arguments(self, parser):
        parser.add_argument("target", help="OWNER or OWNER/NAME")
        parser.add_argument("url")
        parser.add_argument("--secret", required=True, help="Key of the X-Berth-Signature-256 HMAC.")
        parser.add_argument("--events", default="", help=f"Comma-separated, of {', '.join(EventType.values)}; "
                                                         "every event when left out.")
        parser.add_argument("--format", default=Webhook.Format.CLOUDEVENTS, choices=Webhook.Format.values)

    def handle(self, *args, target, url, secret, events, format, **options):
        namespace, _, name = target.partition("/")
        if not Namespace.objects.filter(name=namespace).exists():
            raise CommandError(f"there is no user or organization {namespace!r}")
        package = None
        if name:
            package = Package.objects.filter(name=target).first()
            if package is None:
                raise CommandError(f"there is no package {target!r}; push to it first")
        try:
            webhook = webhook_create(namespace=namespace, package=package, url=url, secret=secret,
                                     events=[e for e in events.split(",") if e], format=format)
        except (WebhookInvalid, TargetRefused) as exc:
            raise CommandError(str(exc))
        self.stdout.write(str(webhook.pk))
