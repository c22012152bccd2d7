"""Content digests: `algorithm:encoded`, per the OCI image spec."""

import hashlib
import re
from dataclasses import dataclass

from .errors import DigestInvalid

# algorithm -> (hashlib name, encoded length)
ALGORITHMS: dict[str, tuple[str, int]] = {"sha256": ("sha256", 64), "sha512": ("sha512", 128)}

DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class Digest:
    algorithm: str
    encoded: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


def looks_like_digest(value: str) -> bool:
    """Return True if value has a digest's shape (as opposed to a tag)."""
    return ":" in value


def parse_digest(value: str) -> Digest:
    """Parse and validate a digest string, raising DigestInvalid with a usable message."""
    if not value or not DIGEST_RE.fullmatch(value):
        raise DigestInvalid(
            f"{value!r} is not a digest; expected 'sha256:' followed by 64 lowercase hex characters",
            detail={"digest": value},
        )
    algorithm, encoded = value.split(":", 1)
    if algorithm not in ALGORITHMS:
        raise DigestInvalid(
            f"digest algorithm {algorithm!r} is not supported; use sha256 (or sha512)",
            detail={"digest": value},
            status=400,
        )
    _, length = ALGORITHMS[algorithm]
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise DigestInvalid(
            f"{value!r} is not a valid {algorithm} digest; expected {length} lowercase hex characters",
            detail={"digest": value},
        )
    return Digest(algorithm, encoded)


def new_hasher(algorithm: str = "sha256") -> "hashlib._Hash":
    """Return a fresh hash object for a supported algorithm."""
    return hashlib.new(ALGORITHMS[algorithm][0])


def verify(hasher, digest: Digest) -> None:
    """Raise DigestInvalid unless hasher (of digest's algorithm) has seen content with that digest."""
    actual = f"{digest.algorithm}:{hasher.hexdigest()}"
    if actual != str(digest):
        raise DigestInvalid(
            f"the uploaded content has digest {actual}, not {digest}; nothing was stored",
            detail={"expected": str(digest), "actual": actual},
        )


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """Return the digest string of data."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"
