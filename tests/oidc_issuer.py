"""A CI OIDC issuer for tests: discovery and JWKS over HTTP on 127.0.0.1, and job tokens it signs.

    with OIDCIssuer() as issuer:
        settings.BERTH_CI_ISSUERS = [issuer.config()]
        token = issuer.mint(issuer.github_claims(repository="alice/app"))

It signs with an RSA 2048 key (RS256) and a P-256 key (ES256), serves both from /jwks, counts the
requests it answers, and can rotate its keys or answer every request with an error status.
"""

import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

# BERTH_CI_ISSUERS overrides for an issuer whose tokens are shaped like GitLab CI's.
GITLAB = {"repository_claim": "project_path", "repository_url": "https://gitlab.example.com/{repository}",
          "ref_claim": "ref_path", "sha_claim": "sha", "workflow_claim": "ci_config_ref_uri",
          "run_claim": "pipeline_id"}
LIFETIME = 600


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        issuer = self.server.issuer
        path = self.path.split("?", 1)[0]
        with issuer.lock:
            issuer.requests.append(path)
        if issuer.status is not None:
            return self._answer(issuer.status, {"error": "unavailable"})
        if path == issuer.path + "/.well-known/openid-configuration":
            return self._answer(200, issuer.discovery())
        if path == issuer.path + "/jwks":
            return self._answer(200, issuer.jwks())
        self._answer(404, {"error": "not found"})

    def _answer(self, status: int, document: dict):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class OIDCIssuer:
    """An OIDC issuer on a random local port, from `with` until the block ends."""

    def __init__(self, audience: str = "berth.test", path: str = ""):
        self.audience = audience
        self.path = path.rstrip("/")
        self.lock = threading.Lock()
        self.requests: list[str] = []
        # When set, every request is answered with this status (the issuer is down).
        self.status: int | None = None
        self.rotate()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.issuer = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        self._thread = None

    def __enter__(self) -> "OIDCIssuer":
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="oidc-issuer",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def jwks_requests(self) -> int:
        """Return how many times /jwks was asked for."""
        with self.lock:
            return self.requests.count(self.path + "/jwks")

    def rotate(self) -> None:
        """Sign with new keys from now on; /jwks publishes only them (the old key ids are gone)."""
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.kids = {"RS256": "rsa-" + secrets.token_hex(6), "ES256": "ec-" + secrets.token_hex(6)}

    def discovery(self) -> dict:
        return {"issuer": self.url, "jwks_uri": self.url + "/jwks", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"]}

    def jwks(self) -> dict:
        """Return the JWKS document /jwks serves."""
        rsa_jwk = RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True)
        ec_jwk = ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        return {"keys": [{**rsa_jwk, "kid": self.kids["RS256"], "use": "sig", "alg": "RS256"},
                         {**ec_jwk, "kid": self.kids["ES256"], "use": "sig", "alg": "ES256"}]}

    def config(self, audience: str | None = None, **overrides) -> dict:
        """Return this issuer's entry for settings.BERTH_CI_ISSUERS (GitHub-shaped unless overridden).

        Two issuers in one test need different repository_url templates (e.g. **GITLAB for the second):
        a repository URL belongs to the first issuer whose template matches it.
        """
        return {"issuer": self.url, "audience": audience or self.audience, "repository_claim": "repository",
                "repository_url": "https://github.com/{repository}", **overrides}

    def mint(self, claims: dict, alg: str = "RS256", kid: str | None = None, **overrides) -> str:
        """Return a job token with claims (and overrides) signed with the current key for alg."""
        key = {"RS256": self.rsa_key, "ES256": self.ec_key}[alg]
        headers = {"kid": kid or self.kids[alg], "typ": "JWT"}
        return jwt.encode({**claims, **overrides}, key, algorithm=alg, headers=headers)

    def _times(self) -> dict:
        now = int(time.time())
        return {"iat": now, "nbf": now - 5, "exp": now + LIFETIME, "jti": str(uuid.uuid4())}

    def github_claims(self, repository: str = "alice/app", ref: str = "refs/heads/main", **extra) -> dict:
        """Return claims shaped like a GitHub Actions job's ID token."""
        owner = repository.split("/", 1)[0]
        return {"iss": self.url, "aud": self.audience, "sub": f"repo:{repository}:ref:{ref}",
                "repository": repository, "repository_owner": owner, "repository_id": "74",
                "repository_visibility": "private", "ref": ref,
                "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
                "sha": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "workflow": "CI", "event_name": "push",
                "job_workflow_ref": f"{repository}/.github/workflows/ci.yml@{ref}", "run_id": "4242",
                "run_number": "7", "run_attempt": "1", "actor": owner, "runner_environment": "github-hosted",
                **self._times(), **extra}

    def gitlab_claims(self, project_path: str = "alice/app", ref: str = "main", ref_type: str = "branch",
                      **extra) -> dict:
        """Return claims shaped like a GitLab CI job's ID token (use with config(**GITLAB))."""
        ref_path = f"refs/{'tags' if ref_type == 'tag' else 'heads'}/{ref}"
        namespace = project_path.rsplit("/", 1)[0]
        return {"iss": self.url, "aud": self.audience,
                "sub": f"project_path:{project_path}:ref_type:{ref_type}:ref:{ref}",
                "namespace_id": "22", "namespace_path": namespace, "project_id": "2", "project_path": project_path,
                "user_id": "1", "user_login": namespace, "pipeline_id": "4242", "pipeline_source": "push",
                "job_id": "208", "ref": ref, "ref_type": ref_type, "ref_path": ref_path, "ref_protected": "true",
                "runner_id": 1, "runner_environment": "self-hosted", "sha": "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a",
                "ci_config_ref_uri": f"gitlab.example.com/{project_path}//.gitlab-ci.yml@{ref_path}",
                **self._times(), **extra}
