"""Sign-ins and failed sign-ins, from Django's own signals (the sign-in page, sign-up, any backend)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.models import Action
from audit.services import audit_failed_login, audit_record


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    audit_record(action=Action.LOGIN, namespace=user.get_username(), actor=user, request=request)


@receiver(user_login_failed)
def record_failed_login(sender, credentials, request=None, **kwargs):
    audit_failed_login(username=credentials.get("username", ""), via="password", request=request)
