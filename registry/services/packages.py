"""Writes on packages themselves."""

from django.db import IntegrityError, transaction

from registry.models import Package
from registry.oci.names import validate_name


def package_get_or_create(*, name: str) -> Package:
    """Return the package called name, creating it (private) on first push."""
    validate_name(name)
    package = Package.objects.filter(name=name).first()
    if package is not None:
        return package
    try:
        with transaction.atomic():
            return Package.objects.create(name=name, namespace=name.split("/", 1)[0])
    except IntegrityError:
        # Another worker created it first.
        return Package.objects.get(name=name)
