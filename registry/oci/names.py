"""Repository name and tag grammar from the distribution spec.

Every check is a full match: `$` would also match before a final newline, letting "v1\n" in.
"""

import re

from .errors import ManifestInvalid, NameInvalid

NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{NAME_COMPONENT}(?:/{NAME_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
MAX_NAME_LENGTH = 255


def validate_name(name: str) -> str:
    """Return name if it is a valid OWNER/IMAGE_NAME repository name, else raise NameInvalid."""
    if len(name) > MAX_NAME_LENGTH:
        raise NameInvalid(
            f"repository name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}",
            detail={"name": name},
        )
    if not NAME_RE.fullmatch(name):
        raise NameInvalid(
            f"invalid repository name {name!r}: use lowercase letters, digits and separators "
            "('.', '_', '__', '-') in path components separated by '/'",
            detail={"name": name},
        )
    if "/" not in name:
        raise NameInvalid(
            f"repository name {name!r} has no owner: push to OWNER/{name}",
            detail={"name": name},
        )
    return name


def is_valid_name(name: str) -> bool:
    """Return True if name is a repository name validate_name() accepts."""
    return len(name) <= MAX_NAME_LENGTH and "/" in name and NAME_RE.fullmatch(name) is not None


def is_valid_tag(tag: str) -> bool:
    """Return True if tag matches the spec's tag grammar."""
    return TAG_RE.fullmatch(tag) is not None


def validate_tag(tag: str) -> str:
    """Return tag if it matches the spec's tag grammar, else raise MANIFEST_INVALID."""
    if not is_valid_tag(tag):
        raise ManifestInvalid(
            f"invalid tag {tag!r}: a tag is up to 128 letters, digits, '_', '.' and '-', "
            "and may not start with '.' or '-'",
            detail={"tag": tag},
        )
    return tag
