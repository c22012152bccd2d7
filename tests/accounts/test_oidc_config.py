"""BERTH_CI_ISSUERS: how trusted issuers are configured, and repository URLs matched to them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts import oidc
from accounts.oidc import Issuer

ROOT = Path(__file__).resolve().parent.parent.parent
GITHUB = {"issuer": "https://token.actions.githubusercontent.com", "audience": "berth.example.com",
          "repository_url": "https://github.com/{repository}"}
GITLAB = {"issuer": "https://gitlab.com", "audience": "berth.example.com", "repository_claim": "project_path",
          "repository_url": "https://gitlab.com/{project_path}", "ref_claim": "ref_path",
          "workflow_claim": "ci_config_ref_uri", "run_claim": "pipeline_id"}


def refusal(entries) -> str:
    with pytest.raises(ImproperlyConfigured) as caught:
        oidc.parse_issuers(entries)
    return str(caught.value)


def test_an_entry_gets_githubs_claim_names_unless_it_says_otherwise():
    github, gitlab = oidc.parse_issuers([GITHUB, GITLAB])

    assert github == Issuer(issuer="https://token.actions.githubusercontent.com", audience="berth.example.com",
                            repository_claim="repository", repository_url="https://github.com/{repository}",
                            ref_claim="ref", sha_claim="sha", workflow_claim="workflow", run_claim="run_id")
    assert (gitlab.repository_claim, gitlab.ref_claim, gitlab.workflow_claim, gitlab.run_claim) == (
        "project_path", "ref_path", "ci_config_ref_uri", "pipeline_id")
    # The template may name the claim itself: {project_path} means {repository}.
    assert gitlab.url_for("group/app") == "https://gitlab.com/group/app"


@pytest.mark.parametrize("key", ["issuer", "audience", "repository_url"])
def test_an_entry_without_a_required_key_is_refused_naming_it(key):
    entry = {k: v for k, v in GITHUB.items() if k != key}
    message = refusal([GITHUB, entry])

    assert message.startswith("BERTH_CI_ISSUERS[1]")
    assert f"lacks {key!r}; each issuer needs issuer, audience, repository_url" in message


@pytest.mark.parametrize("entries, expected", [
    ({"issuer": "x"}, "BERTH_CI_ISSUERS must be a JSON list of issuer objects, not dict"),
    (["https://gitlab.com"], "BERTH_CI_ISSUERS[0] must be an object with issuer, audience, repository_url"),
    ([{**GITHUB, "repository-claim": "x"}], "has unknown key 'repository-claim'; known keys: audience, issuer,"),
    ([{**GITHUB, "audience": ["a", "b"]}], "(https://token.actions.githubusercontent.com): 'audience' must be a "
                                           "string"),
    ([{**GITHUB, "repository_url": "https://github.com/"}], "repository_url must contain {repository} once"),
    ([{**GITHUB, "repository_url": "github.com/{repository}"}], "repository_url must be an https:// URL template"),
    ([{**GITHUB, "issuer": "http://ci.example.com"}], "issuer must be an https:// URL (keys are fetched from it)"),
    ([{**GITHUB, "jwks_uri": "http://ci.example.com/jwks"}], "jwks_uri must be an https:// URL"),
    ([{**GITHUB, "jwks_uri": "https://x/jwks", "jwks_file": "/etc/jwks.json"}], "set jwks_uri or jwks_file, not both"),
    ([GITHUB, GITHUB], "BERTH_CI_ISSUERS lists the issuer https://token.actions.githubusercontent.com twice"),
])
def test_a_bad_configuration_is_refused_saying_what_is_wrong(entries, expected):
    assert expected in refusal(entries)


def test_issuers_on_loopback_or_with_a_jwks_file_may_use_plain_http():
    assert oidc.parse_issuers([{**GITHUB, "issuer": "http://127.0.0.1:8080"},
                               {**GITHUB, "issuer": "http://ci.internal", "jwks_file": "/etc/berth/jwks.json"}])


def test_issuers_reads_the_setting(settings):
    settings.BERTH_CI_ISSUERS = [GITHUB]
    assert [issuer.issuer for issuer in oidc.issuers()] == ["https://token.actions.githubusercontent.com"]


def settings_import(value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BERTH_CI_ISSUERS": value, "DEBUG": "true"}
    return subprocess.run([sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_environment_variable_is_checked_at_startup():
    bad_json = settings_import('[{"issuer": "https://gitlab.com",}]')
    assert bad_json.returncode != 0
    assert "ImproperlyConfigured: BERTH_CI_ISSUERS is not valid JSON" in bad_json.stderr

    missing = settings_import('[{"issuer": "https://gitlab.com", "audience": "berth"}]')
    assert "BERTH_CI_ISSUERS[0] (https://gitlab.com) lacks 'repository_url'" in missing.stderr

    assert settings_import('[{"issuer": "https://gitlab.com", "audience": "berth", '
                           '"repository_url": "https://gitlab.com/{repository}"}]').returncode == 0


@pytest.mark.parametrize("url, claim", [
    ("https://github.com/alice/app", "alice/app"),
    ("  https://github.com/alice/app/ ", "alice/app"),
    ("https://github.com/alice/app.git", "alice/app"),
    ("HTTPS://GitHub.com/Alice/App", "Alice/App"),
    ("https://github.com/alice", "alice"),
    ("https://github.com/", None),
    ("https://github.com", None),
    ("https://github.com/alice/../bob", None),
    ("https://github.com/alice//app", None),
    ("https://github.com/alice/app?tab=1", None),
    ("https://github.com/alice app", None),
    ("https://gitlab.com/alice/app", None),
    ("https://github.com.evil.example/alice/app", None),
])
def test_claim_for_inverts_the_template(url, claim):
    github = oidc.parse_issuers([GITHUB])[0]

    assert github.claim_for(url) == claim
    if claim is not None:
        assert github.claim_for(github.url_for(claim)) == claim


def test_a_template_with_text_after_the_placeholder_matches_only_with_it():
    issuer = oidc.parse_issuers([{**GITHUB, "repository_url": "https://git.example.com/{repository}.git"}])[0]

    assert issuer.claim_for("https://git.example.com/alice/app.git") == "alice/app"
    assert issuer.claim_for("https://git.example.com/alice/app") is None


def test_issuer_for_url_finds_the_issuer_whose_template_matches(settings):
    settings.BERTH_CI_ISSUERS = [GITHUB, GITLAB]

    gitlab, claim = oidc.issuer_for_url("https://gitlab.com/group/sub/app")
    assert (gitlab.issuer, claim) == ("https://gitlab.com", "group/sub/app")
    assert oidc.issuer_for_url("https://github.com/alice/app")[0].issuer == GITHUB["issuer"]
    assert oidc.issuer_for_url("https://codeberg.org/alice/app") is None
