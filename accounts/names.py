"""The grammar of OWNER names, shared by users and organizations."""

import re

from django.core.exceptions import ValidationError

from registry.oci.names import NAME_COMPONENT

NAMESPACE_RE = re.compile(rf"^{NAME_COMPONENT}$")
MAX_NAMESPACE_LENGTH = 64
# Names that would read as Berth's own paths rather than somebody's packages.
RESERVED_NAMES = frozenset({
    "admin", "api", "login", "logout", "orgs", "settings", "signup", "static", "token", "v2",
})


def validate_namespace_name(name: str) -> None:
    """Raise ValidationError unless name can be the OWNER part of an image name."""
    if len(name) > MAX_NAMESPACE_LENGTH:
        raise ValidationError(f"Use at most {MAX_NAMESPACE_LENGTH} characters.", code="too_long")
    if not NAMESPACE_RE.fullmatch(name):
        raise ValidationError(
            "Use lower-case letters and digits, optionally separated by '.', '_', '__' or '-' "
            "(it becomes part of image names like HOST/NAME/IMAGE).",
            code="invalid",
        )
    if name in RESERVED_NAMES:
        raise ValidationError(f"{name!r} is reserved; choose another name.", code="reserved")
