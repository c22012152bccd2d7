"""The package pages in real Chromium against Berth under gunicorn: sign up and in, create a token on
its page, push through the API with it, read the package page, make it public, see it signed out.

Runs on a Berth server of its own, so its visibility changes can't disturb other tests. Screenshots
go to test-artifacts/packages_ui/.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e import images
from tests.e2e.helpers import RegistryHTTP
from tests.helpers import start_berth
from tests.servers import ROOT, require_tool

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "packages_ui"
USERNAME, PASSWORD = "maria", "berth browser test password 7"
LABELS = {
    "org.opencontainers.image.description": "Web frontend of the harbour booking service",
    "org.opencontainers.image.licenses": "MIT",
    "org.opencontainers.image.source": "https://git.example.com/maria/harbour-web",
}
MULTI_ANNOTATIONS = {"org.opencontainers.image.description": "Harbour CLI for amd64 and arm64"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_berth(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    # Debian's chromium (apt-get install chromium): Playwright can't download its own build here.
    executable = require_tool("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def push(registry: RegistryHTTP, name: str, blobs, manifests: list[tuple[str, images.Blob]]) -> None:
    """Push blobs (monolithic POSTs), then manifests in order, with the token as the Basic password."""
    for blob in blobs:
        response = registry.request("POST", f"/v2/{name}/blobs/uploads/?digest={blob.digest}", data=blob.data,
                                    headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 201, response.text
    for reference, manifest in manifests:
        response = registry.request("PUT", f"/v2/{name}/manifests/{reference}", data=manifest.data,
                                    headers={"Content-Type": manifest.media_type})
        assert response.status_code == 201, response.text


def sign_up_and_in(page, server, username: str = USERNAME) -> None:
    page.goto(f"{server.url}/signup")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.locator("form[action='/logout'] button").click()
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    assert page.locator("form[action='/logout'] button").inner_text() == f"Log out {username}"


def create_token(page, server) -> str:
    page.goto(f"{server.url}/settings/tokens/new")
    page.fill("input[name=note]", "browser test push")
    page.check("input[name=scopes][value='write:packages']")
    page.click("main form button[type=submit]")
    token = page.locator("#token").inner_text().strip()
    assert len(token) > 20
    return token


def test_sign_in_push_read_publish_and_read_signed_out(chromium, server):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_up_and_in(page, server)

    # A fresh owner page tells what to do next.
    page.goto(f"{server.url}/{USERNAME}/packages")
    assert f"docker login {server.host} -u {USERNAME}" in page.locator("#cmd-login").inner_text()
    shot(page, "owner-empty")

    token = create_token(page, server)
    manifest, config, layer = images.platform_image("linux", "amd64", {"srv/index.html": b"<h1>harbour</h1>\n"},
                                                    LABELS)
    registry = RegistryHTTP(server.url, USERNAME, token)
    push(registry, f"{USERNAME}/harbour/web", [config, layer], [("latest", manifest)])
    # One real pull (a manifest GET; the HEAD doesn't count).
    for method in ("HEAD", "GET"):
        response = registry.request(method, f"/v2/{USERNAME}/harbour/web/manifests/latest",
                                    headers={"Accept": images.OCI_MANIFEST})
        assert response.status_code == 200

    package_url = f"{server.url}/{USERNAME}/packages/container/harbour/web"
    page.goto(f"{server.url}/{USERNAME}/packages")
    page.click(f"text={USERNAME}/harbour/web")
    assert page.url == package_url
    assert page.locator("p.description").inner_text() == LABELS["org.opencontainers.image.description"]
    assert page.locator("dd.license").inner_text() == "MIT"
    link = page.locator("dd.source a")
    assert link.get_attribute("href") == LABELS["org.opencontainers.image.source"]
    pull = f"docker pull {server.host}/{USERNAME}/harbour/web:latest"
    assert page.locator("#pull-latest").inner_text() == pull
    assert page.locator("dd.downloads").inner_text() == "1"
    shot(page, "package-private")

    # Keyboard only: tab to the copy button and press Enter; the command lands on the clipboard.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    copy = page.locator("button[data-copy=pull-latest]")
    for _ in range(30):
        if copy.evaluate("b => b === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("the copy button can't be reached with the Tab key")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('button[data-copy=pull-latest]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == pull

    # Signed out, a private package is not found.
    anonymous = chromium.new_context(viewport={"width": 1100, "height": 640})
    outsider = anonymous.new_page()
    assert outsider.goto(package_url).status == 404

    # Make it public: the form wants the package's name typed out.
    page.click("nav.tabs >> text=Settings")
    page.check("input[name=visibility][value=public]")
    page.fill("#confirm-visibility", "harbour/web")
    page.click(f"text=Change visibility of {USERNAME}/harbour/web")
    assert f"type the package's full name, {USERNAME}/harbour/web" in page.locator(".messages").inner_text()
    page.check("input[name=visibility][value=public]")
    page.fill("#confirm-visibility", f"{USERNAME}/harbour/web")
    page.click(f"text=Change visibility of {USERNAME}/harbour/web")
    assert page.locator(".messages").inner_text() == f"{USERNAME}/harbour/web is now public."
    shot(page, "settings")

    response = outsider.goto(package_url)
    assert response.status == 200
    assert outsider.locator("p.description").inner_text() == LABELS["org.opencontainers.image.description"]
    assert outsider.locator("dd.license").inner_text() == "MIT"
    assert outsider.locator("nav.tabs >> text=Settings").count() == 0
    assert outsider.locator(".badge").first.inner_text() == "Public"
    path = shot(outsider, "package-public-signed-out")
    if os.environ.get("BERTH_UPDATE_SCREENSHOTS"):
        # The README's screenshot; only on request, so test runs leave the checkout clean.
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "screenshot-package.png").write_bytes(path.read_bytes())

    # On a phone the page fits the screen's width.
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2)
    small = phone.new_page()
    small.goto(package_url)
    # A phone browser zooms out to fit wider content, so compare with the screen, not the layout viewport.
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    assert small.locator("p.description").is_visible() and small.locator("dd.license").is_visible()
    shot(small, "package-phone")
    for ctx in (context, anonymous, phone):
        ctx.close()


def test_multiarch_image_with_index_annotations(chromium, server, tmp_path):
    token = server.manage("create_token", "tomas", "--scopes", "write:packages", "--create-user").strip()
    layout = images.write_multiarch_layout(tmp_path / "layout", tag="1.0", annotations=MULTI_ANNOTATIONS)
    platform_manifests = list(layout.manifests.values())
    plain = [b for b in layout.blobs if b not in platform_manifests and b != layout.index]
    push(RegistryHTTP(server.url, "tomas", token), "tomas/harbour-cli", plain,
         [*((m.digest, m) for m in platform_manifests), ("1.0", layout.index), ("latest", layout.index)])
    server.manage("set_visibility", "tomas/harbour-cli", "public")

    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/tomas/packages/container/harbour-cli")
    # The index's annotation wins over the platforms' own descriptions.
    assert page.locator("p.description").inner_text() == MULTI_ANNOTATIONS["org.opencontainers.image.description"]
    assert "linux/amd64, linux/arm64" in page.locator(".version-list").inner_text()
    shot(page, "multiarch")

    page.click("nav.tabs >> text=Versions")
    top = page.locator("ul.version-list > li")
    assert top.count() == 1
    nested = top.first.locator("ul.children > li")
    assert nested.count() == 2
    assert {nested.nth(i).locator(".platform").inner_text() for i in range(2)} == {"linux/amd64", "linux/arm64"}
    top.first.locator("a.digest").first.click()
    assert f"docker pull {server.host}/tomas/harbour-cli@{layout.index.digest}" == page.locator(
        "#pull-digest").inner_text()
    shot(page, "multiarch-version")
    context.close()


def test_manage_access_and_delete_then_restore_a_version(chromium, server):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    sign_up_and_in(page, server, "nina")
    token = create_token(page, server)
    server.manage("create_token", "oskar", "--scopes", "read:packages", "--create-user")
    registry = RegistryHTTP(server.url, "nina", token)
    digests = []
    for tag in ("1.0", "latest"):
        manifest, config, layer = images.platform_image("linux", "amd64", {"version": tag.encode()}, LABELS)
        push(registry, "nina/tide", [config, layer], [(tag, manifest)])
        digests.append(manifest.digest)
    base = f"{server.url}/nina/packages/container/tide"

    # Give oskar read access, then make it write, from the settings page.
    page.goto(f"{base}/-/settings")
    page.fill("#grantee", "oskar")
    page.select_option("#role", "read")
    page.click("form.grant-form button[type=submit]")
    assert page.locator(".messages").inner_text() == "oskar now has read access to nina/tide."
    page.select_option("select[name=role] >> nth=0", "write")
    page.click("form.role-form button")
    assert page.locator(".messages").inner_text() == "oskar now has write access to nina/tide."

    # Delete version 1.0: it leaves the versions list and the API, and comes back on restore.
    page.goto(f"{base}/-/versions")
    page.click(f"button[aria-label='Delete version {digests[0]}']")
    assert "Deleted 1 version of nina/tide." in page.locator(".messages").inner_text()
    assert digests[0][:19] not in page.locator(".version-list").inner_text()
    assert registry.get(f"/v2/nina/tide/manifests/{digests[0]}").status_code == 404
    page.goto(f"{base}/-/settings")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "settings-phone")
    page.click(f"button[aria-label='Restore version {digests[0]}']")
    assert page.locator(".messages").inner_text() == "Restored 1 version of nina/tide."
    assert registry.get("/v2/nina/tide/manifests/1.0",
                        headers={"Accept": images.OCI_MANIFEST}).status_code == 200
    context.close()


def csp_violations(page) -> list[str]:
    """Collect what Chromium reports as refused by the pages' Content-Security-Policy."""
    found = []
    page.on("console", lambda message: found.append(message.text) if "Content Security Policy" in message.text
            else None)
    return found


def test_pages_keep_to_their_content_security_policy(chromium, server):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    violations = csp_violations(page)
    sign_up_and_in(page, server, "ines")
    token = create_token(page, server)
    manifest, config, layer = images.platform_image("linux", "amd64", {"srv/app": b"app\n"}, LABELS)
    push(RegistryHTTP(server.url, "ines", token), "ines/quay", [config, layer], [("latest", manifest)])

    package_url = f"{server.url}/ines/packages/container/quay"
    for url in (f"{server.url}/", f"{server.url}/ines/packages", package_url, f"{package_url}/-/versions",
                f"{package_url}/-/versions/{manifest.digest}", f"{package_url}/-/settings",
                f"{server.url}/settings/tokens", f"{server.url}/orgs", f"{server.url}/nobody/packages/container/x"):
        response = page.goto(url)
        assert "default-src 'self'" in response.headers["content-security-policy"], url
    # The package page's script still runs under the policy: its copy button copies.
    page.goto(package_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.click("button[data-copy=pull-latest]")
    page.wait_for_function("document.querySelector('button[data-copy=pull-latest]').textContent === 'Copied'")
    assert violations == []

    # And the check sees a violation when there is one: an inline style is refused.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
    page.wait_for_function("document.querySelector('p[style]') !== null")
    page.wait_for_timeout(200)
    assert violations and "style-src" in violations[0]
    context.close()
