"""The version page says which CI job published a version, with links to its repository and commit."""

import html

from tests.sources.provenance_helpers import SHA, URL, image, job_for, put, register

APP = "/alice/packages/container/app"


def page(browser, manifest) -> str:
    response = browser.get(f"{APP}/-/versions/{manifest.digest}")
    assert response.status_code == 200, response.content[:300]
    return html.unescape(response.content.decode())


def test_the_version_page_says_which_job_published_it(api, owner_browser):
    manifest = put(image(api), job=job_for(register()))

    shown = page(owner_browser, manifest)
    assert f'Published by <a href="{URL}" rel="nofollow noopener">alice/app</a>' in shown
    assert f'<a href="{URL}/commit/{SHA}" rel="nofollow noopener" title="{SHA}"><code>1a2b3c4</code></a>' in shown
    assert "on <code>refs/heads/main</code>, run 4242 (workflow release.yml)" in shown


def test_an_unknown_forge_gets_a_repository_link_and_a_plain_commit(api, owner_browser):
    manifest = put(image(api), job=job_for(register(url="https://git.example/alice/app")))
    shown = page(owner_browser, manifest)
    assert 'Published by <a href="https://git.example/alice/app"' in shown
    assert f'<code title="{SHA}">1a2b3c4</code>' in shown
    assert "/commit/" not in shown


def test_a_version_a_person_pushed_says_nothing_about_ci(api, owner_browser, alice):
    register()
    manifest = put(image(api), by=alice)
    assert "Published by" not in page(owner_browser, manifest)
