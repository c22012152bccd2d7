"""Account pages and the token service."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import organization_views as orgs
from accounts import views

app_name = "accounts"

urlpatterns = [
    path("token", views.TokenView.as_view(), name="token"),
    path("signup", views.SignUpView.as_view(), name="signup"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/password", views.PasswordChangeView.as_view(), name="password-change"),
    path("settings/password/done", views.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path("settings/tokens", views.TokenListView.as_view(), name="tokens"),
    path("settings/tokens/new", views.TokenCreateView.as_view(), name="token-new"),
    path("settings/tokens/<int:token_id>/revoke", views.TokenRevokeView.as_view(), name="token-revoke"),
    path("orgs", orgs.OrganizationListView.as_view(), name="organizations"),
    path("orgs/<str:name>", orgs.OrganizationView.as_view(), name="organization"),
    path("orgs/<str:name>/members", orgs.MemberSetView.as_view(), name="member-set"),
    path("orgs/<str:name>/members/<str:username>/remove", orgs.MemberRemoveView.as_view(), name="member-remove"),
    path("orgs/<str:name>/teams", orgs.TeamCreateView.as_view(), name="team-create"),
    path("orgs/<str:name>/teams/<str:team>/members", orgs.TeamMemberAddView.as_view(), name="team-member-add"),
    path("orgs/<str:name>/teams/<str:team>/members/<str:username>/remove", orgs.TeamMemberRemoveView.as_view(),
         name="team-member-remove"),
]
