"""The one place that decides who may do what with a package.

Until accounts land every caller may pull, push and delete; views and pages already ask
here, so enforcement plugs in without touching them.
"""

from registry.models import Package


def check_registry(request) -> None:
    """Raise UNAUTHORIZED if the caller may not use the registry at all."""


def check_repository(request, name: str, action: str) -> None:
    """Raise UNAUTHORIZED, DENIED or NAME_UNKNOWN unless the caller may do action on name."""


def readable_packages(request):
    """Return the packages the caller may read."""
    return Package.objects.all()


def can_read(request, name: str) -> bool:
    """Return True if the caller may pull from the package called name."""
    return True
