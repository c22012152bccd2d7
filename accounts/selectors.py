"""Reads on accounts, for pages and commands."""

from accounts.models import PersonalAccessToken


def token_list(*, user):
    """Return user's tokens, newest first."""
    return PersonalAccessToken.objects.filter(user=user).order_by("-created_at", "-id")
