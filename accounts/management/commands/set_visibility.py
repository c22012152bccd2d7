"""manage.py set_visibility PACKAGE private|internal|public"""

from django.core.management.base import BaseCommand

from accounts.management.commands._helpers import get_package
from accounts.services import package_visibility_set
from registry.models import Visibility


class Command(BaseCommand):
    help = "Make a package private, internal (any signed-in user reads it) or public (anyone pulls it)."

    def add_arguments(self, parser):
        parser.add_argument("package")
        parser.add_argument("visibility", choices=Visibility.values)

    def handle(self, *args, package, visibility, **options):
        package = package_visibility_set(package=get_package(package), visibility=visibility)
        self.stdout.write(f"{package} is now {package.visibility}")
