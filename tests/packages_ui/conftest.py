"""Fixtures for the package pages: people, signed-in browsers (test clients) and pushed images."""

from tests.packages_ui.fixtures import alice, anonymous, browser_for, make_user, owner_browser  # noqa: F401 - fixtures
