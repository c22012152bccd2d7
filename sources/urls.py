"""The owner's Repositories page and each repository's page."""

from django.urls import path, re_path

from sources import views

app_name = "sources"

urlpatterns = [
    path("<str:owner>/repositories", views.RepositoriesView.as_view(), name="repositories"),
    path("<str:owner>/repositories/<int:repository_id>", views.RepositoryView.as_view(), name="repository"),
    re_path(r"^(?P<owner>[^/]+)/repositories/(?P<repository_id>[0-9]+)/(?P<action>push-refs|grant|revoke|remove)$",
            views.RepositoryActionView.as_view(), name="repository-action"),
]
