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
from django.views import View
from rest_framework import exceptions

from accounts import access, registry_tokens, selectors, throttling, tokens
from accounts.authentication import basic_credentials, verify_basic
from accounts.forms import SignUpForm, ThrottledAuthenticationForm, TokenForm
from accounts.models import PersonalAccessToken, Scope
from accounts.services import token_create, token_revoke
from registry.api.errors import error_response
from registry.oci.errors import OCIError, TooManyRequests, Unauthorized
from registry.oci.names import validate_name


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


class TokenView(View):
    """GET /token: the token service docker follows from a 401's Bearer challenge.

    With Basic USERNAME:PERSONAL_ACCESS_TOKEN the token grants what was asked, what the
    token's scopes allow and what the person may do; without credentials it grants public
    pulls. A refused action is left out of the grant; wrong credentials are 401.
    """

    def get(self, request):
        try:
            credentials = basic_credentials(request)
            pat = verify_basic(request, *credentials) if credentials else None
        except exceptions.AuthenticationFailed as e:
            return self.refuse(request, str(e.detail))
        except tokens.InvalidToken as e:
            return self.refuse(request, str(e))
        except throttling.LoginThrottled as e:
            return error_response(TooManyRequests(str(e), headers={"Retry-After": str(e.retry_after)}))
        user = pat.user if pat is not None else AnonymousUser()
        scopes = tokens.scope_actions(pat.scopes) if pat is not None else {"pull"}
        granted = access.grant(user, scopes, parse_scopes(request.GET.getlist("scope")))
        token, expires_in, issued_at = registry_tokens.issue(
            username=user.get_username(), user_id=user.pk, pat_id=pat.pk if pat else None, access=granted)
        return JsonResponse({
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
            "issued_at": datetime.fromtimestamp(issued_at, UTC).isoformat().replace("+00:00", "Z"),
        })

    def refuse(self, request, message: str):
        return error_response(Unauthorized(message, headers={"WWW-Authenticate": 'Basic realm="Berth"'}))


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
