"""Forms of the account pages."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import throttling
from accounts.models import FailedLogin, Membership, Scope
from accounts.names import MAX_NAMESPACE_LENGTH, validate_namespace_name
from accounts.services import user_create

EXPIRATION_CHOICES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("custom", "On a date…"),
    ("none", "No expiration"),
]


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.max_length = MAX_NAMESPACE_LENGTH
        username.widget.attrs["maxlength"] = str(MAX_NAMESPACE_LENGTH)
        username.help_text = ("Lower-case letters and digits, optionally separated by '.', '_' or '-'. "
                              "It is also your namespace: HOST/USERNAME/IMAGE.")

    def clean_username(self):
        username = self.cleaned_data["username"]
        validate_namespace_name(username)
        return super().clean_username()

    def save(self, commit=True):
        """Create the user and their namespace; raise ValidationError if an organization took the name."""
        return user_create(username=self.cleaned_data["username"], email=self.cleaned_data.get("email", ""),
                           password=self.cleaned_data["password1"])


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing to check passwords while a username or an address guesses too often."""

    throttled_for: int | None = None

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = throttling.client_address(self.request)
        try:
            throttling.check_password(username=username, address=address)
        except throttling.LoginThrottled as e:
            self.throttled_for = e.retry_after
            raise ValidationError(f"Too many failed sign-ins. Try again in {e.retry_after} seconds.",
                                  code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            throttling.record_failure(kind=FailedLogin.Kind.PASSWORD, username=username, address=address)
            raise
        throttling.clear_password(username=username, address=address)
        return cleaned


class TokenForm(forms.Form):
    note = forms.CharField(max_length=100, required=False,
                           help_text="What is this token for? For example: CI of my-app.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Choose at least one scope."})
    expiration = forms.ChoiceField(choices=EXPIRATION_CHOICES, initial="30")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Used with “On a date…”.")

    def clean(self):
        cleaned = super().clean()
        expiration = cleaned.get("expiration")
        now = timezone.now()
        if expiration == "custom":
            day = cleaned.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Pick the date the token expires on.")
            elif day <= timezone.localdate():
                self.add_error("expires_on", "Pick a date after today.")
            else:
                cleaned["expires_at"] = timezone.make_aware(
                    timezone.datetime.combine(day, timezone.datetime.min.time()))
        elif expiration == "none":
            cleaned["expires_at"] = None
        elif expiration:
            cleaned["expires_at"] = now + timedelta(days=int(expiration))
        return cleaned


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=64, validators=[validate_namespace_name],
                           help_text="Lower-case letters and digits, optionally separated by '.', '_' or '-'. "
                                     "Packages of the organization are HOST/NAME/IMAGE.")


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=64, validators=[validate_namespace_name], label="Team name")


class TeamMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
