"""Account pages and the registry's token service (/token)."""

from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from accounts import access, oidc, refresh_tokens, registry_tokens, selectors, throttling, tokens
from accounts.authentication import basic_credentials, credential, keys_unavailable, verify_password, verify_refresh
from accounts.forms import SignUpForm, ThrottledAuthenticationForm, TokenForm
from accounts.models import PersonalAccessToken, Scope
from accounts.services import token_create, token_revoke
from registry.api.errors import error_response
from registry.oci.errors import OCIError, TooManyRequests, Unauthorized, Unsupported
from registry.oci.names import validate_name
from sources.identity import JobIdentity


def parse_scopes(values: list[str]) -> dict[str, set[str]]:
    """Return the repository actions asked for by `scope` parameters (several, or space-separated)."""
    wanted: dict[str, set[str]] = {}
    for value in values:
        for scope in value.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue  # registry:catalog:* and other kinds: the catalog filters by itself
            try:
                validate_name(name)
            except OCIError:
                continue
            asked = {a for a in actions.split(",") if a}
            if "*" in asked:
                asked = set(access.ALL_ACTIONS)
            wanted.setdefault(name, set()).update(asked & access.ALL_ACTIONS)
    return wanted


def format_scope(granted: dict[str, set[str]]) -> str:
    """Return a grant as the OAuth2 form's space-separated scope list."""
    return " ".join(f"repository:{name}:{','.join(sorted(actions))}" for name, actions in sorted(granted.items()))


def token_caller(signed_in: PersonalAccessToken | JobIdentity | None) -> access.Caller:
    """Return the caller a /token sign-in makes: a person's token, a CI job, or nobody (public pulls)."""
    if signed_in is None:
        return access.Caller(AnonymousUser(), frozenset({"pull"}), None, False)
    return access.credential_caller(*credential(signed_in))


def issue_token(signed_in: PersonalAccessToken | JobIdentity | None, scope_values: list[str]
                ) -> tuple[dict, dict[str, set[str]]]:
    """Return the /token answer granting scope_values as far as the caller may, and the grant.

    signed_in is a personal access token (its scopes and its owner limit the grant), a CI job (its
    repository's roles; the token ends when the job token does) or None (public pulls only).
    """
    caller = token_caller(signed_in)
    granted = access.grant(caller, parse_scopes(scope_values))
    if caller.job is not None:
        token, expires_in, issued_at = registry_tokens.issue(
            username=caller.job.username, user_id=None, pat_id=None, access=granted,
            job=caller.job.claims(), expires_at=caller.job.expires_at)
    else:
        pat = signed_in
        token, expires_in, issued_at = registry_tokens.issue(
            username=caller.user.get_username(), user_id=caller.user.pk, pat_id=pat.pk if pat else None,
            access=granted)
    return {
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": datetime.fromtimestamp(issued_at, UTC).isoformat().replace("+00:00", "Z"),
    }, granted


def refusal(exc: Exception) -> OCIError:
    """Return the registry error a failed sign-in at /token answers with."""
    if isinstance(exc, throttling.LoginThrottled):
        return TooManyRequests(str(exc), headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, oidc.KeysUnavailable):
        return keys_unavailable(exc)
    message = str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else str(exc)
    return Unauthorized(message, headers={"WWW-Authenticate": 'Basic realm="Berth"'})


class InvalidGrantRequest(Exception):
    """The OAuth2 form lacks a field or names a grant Berth doesn't have; error is RFC 6749's code for it."""

    def __init__(self, error: str, message: str):
        self.error = error
        super().__init__(message)


def form_credentials(request, form) -> PersonalAccessToken | JobIdentity:
    """Return the personal access token or CI job the OAuth2 form signs in with, by password or refresh token.

    A password that looks like a JWT is a CI job token (the username is then ignored). Raise
    InvalidGrantRequest, or what verify_basic, verify_job and verify_refresh raise.
    """
    grant_type = form.get("grant_type", "")
    if grant_type == "password":
        if not form.get("username") or not form.get("password"):
            raise InvalidGrantRequest("invalid_request", "grant_type=password needs username and password")
        return verify_password(request, form["username"], form["password"])
    if grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise InvalidGrantRequest("invalid_request", "grant_type=refresh_token needs refresh_token")
        return verify_refresh(request, form["refresh_token"], form.get("username", ""))
    if not grant_type:
        raise InvalidGrantRequest("invalid_request", "grant_type is missing; use password or refresh_token")
    raise InvalidGrantRequest("unsupported_grant_type",
                              f"grant_type {grant_type[:40]!r} is not supported; use password or refresh_token")


# The OAuth2 error code each refusal of the POST form carries beside the registry's own.
OAUTH_ERRORS = {401: "invalid_grant", 429: "slow_down", 503: "temporarily_unavailable"}
SIGN_IN_FAILURES = (exceptions.AuthenticationFailed, tokens.InvalidToken, throttling.LoginThrottled,
                    oidc.InvalidJobToken)


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(View):
    """GET and POST /token: the token service registry clients follow from a 401's Bearer challenge.

    GET (docker, podman) signs in with Basic USERNAME:PERSONAL_ACCESS_TOKEN, ANYTHING:CI_JOB_TOKEN
    (a trusted issuer's OIDC ID token, accounts.oidc), or without credentials for public pulls.
    POST is the OAuth2 form containerd sends first: grant_type=password with the same username
    and personal access token (or CI job token), or grant_type=refresh_token with a refresh token
    handed out by an earlier POST with access_type=offline (never to a CI job). Either way the
    token grants what was asked, what the personal access token's scopes allow and what the
    person or the job's repository may do; a refused action is left out of the grant; wrong
    credentials are 401. Registry clients send no cookies and no CSRF token, and this view reads
    and sets no session.
    """

    def get(self, request):
        try:
            credentials = basic_credentials(request)
            signed_in = verify_password(request, *credentials) if credentials else None
        except SIGN_IN_FAILURES as e:
            return error_response(refusal(e))
        document, _ = issue_token(signed_in, request.GET.getlist("scope"))
        return JsonResponse(document)

    def post(self, request):
        form = request.POST
        try:
            signed_in = form_credentials(request, form)
        except InvalidGrantRequest as e:
            return error_response(Unsupported(str(e), status=400), error=e.error, error_description=str(e))
        except SIGN_IN_FAILURES as e:
            error = refusal(e)
            return error_response(error, error=OAUTH_ERRORS[error.status], error_description=error.message)
        document, granted = issue_token(signed_in, form.getlist("scope"))
        document["scope"] = format_scope(granted)
        # A CI job gets no refresh token: it signs in again with a fresh job token.
        if form.get("access_type") == "offline" and not isinstance(signed_in, JobIdentity):
            # Exchanging a refresh token answers with the same one (the OAuth2 form of the token spec).
            document["refresh_token"] = (form["refresh_token"] if form["grant_type"] == "refresh_token"
                                         else refresh_tokens.issue(pat=signed_in))
        return JsonResponse(document)


class SignUpView(View):
    template_name = "accounts/signup.html"

    def dispatch(self, request, *args, **kwargs):
        if not settings.BERTH_ALLOW_SIGNUP:
            return render(request, "accounts/signup_closed.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return render(request, self.template_name, {"form": SignUpForm()})

    def post(self, request):
        form = SignUpForm(request.POST)
        if form.is_valid():
            try:
                user = form.save()
            except ValidationError as e:
                form.add_error("username", e)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome, {user.username}. Create a token to use with docker login.")
                return redirect("accounts:tokens")
        return render(request, self.template_name, {"form": form}, status=400)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled_for:
            response.status_code = 429
            response["Retry-After"] = str(form.throttled_for)
        return response

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "allow_signup": settings.BERTH_ALLOW_SIGNUP}


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password-change-done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class TokenListView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "accounts/token_list.html", {
            "tokens": selectors.token_list(user=request.user),
            "now": timezone.now(),
        })


def preselected_scopes(query) -> list[str]:
    """Return the known scopes ?scopes= names (comma-separated or repeated), exactly as asked."""
    asked = {s.strip() for value in query.getlist("scopes") for s in value.split(",")}
    return [scope for scope in Scope.values if scope in asked]


class TokenCreateView(LoginRequiredMixin, View):
    def get(self, request):
        form = TokenForm(initial={"scopes": preselected_scopes(request.GET), "expiration": "30"})
        return render(request, "accounts/token_new.html", {"form": form})

    def post(self, request):
        form = TokenForm(request.POST)
        if not form.is_valid():
            return render(request, "accounts/token_new.html", {"form": form}, status=400)
        pat, value = token_create(user=request.user, scopes=form.cleaned_data["scopes"],
                                  note=form.cleaned_data["note"], expires_at=form.cleaned_data["expires_at"])
        # Rendered, not redirected: the value is shown this once and kept nowhere.
        response = render(request, "accounts/token_created.html", {
            "token": pat, "value": value, "host": request.get_host(), "username": request.user.get_username(),
        })
        response["Cache-Control"] = "no-store"
        return response


class TokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, token_id):
        pat = get_object_or_404(PersonalAccessToken, pk=token_id, user=request.user)
        token_revoke(token=pat)
        messages.success(request, f"Revoked {pat.note or pat.hint + '…'}. It stopped working at once.")
        return redirect("accounts:tokens")
