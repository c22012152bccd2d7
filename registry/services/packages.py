"""Writes on packages themselves."""

from django.db import IntegrityError, transaction

from registry.models import Package
from registry.oci.names import validate_name
from registry.services.trash import package_revive


def package_get_or_create(*, name: str) -> tuple[Package, bool]:
    """Return the package called name for a push, and whether this call created (private) or revived it.

    A push to a package deleted from its page starts it afresh: its old versions stay deleted,
    each restorable on its own.
    """
    validate_name(name)
    package = Package.all_objects.filter(name=name).first()
    if package is not None:
        if package.deleted_at is None:
            return package, False
        package_revive(package=package)
        package.refresh_from_db()
        return package, True
    try:
        with transaction.atomic():
            return Package.objects.create(name=name, namespace=name.split("/", 1)[0]), True
    except IntegrityError:
        # Another worker created it first.
        return Package.all_objects.get(name=name), False
