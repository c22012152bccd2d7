"""What each role on a package allows, for the rules about people (accounts.access) and jobs (accounts.job_access)."""

from accounts.models import Role

ALL_ACTIONS = frozenset({"pull", "push", "delete"})
ROLE_ORDER = {Role.READ: 1, Role.WRITE: 2, Role.ADMIN: 3}
ROLE_ACTIONS = {
    Role.READ: frozenset({"pull"}),
    Role.WRITE: frozenset({"pull", "push"}),
    Role.ADMIN: ALL_ACTIONS,
}
ROLE_FOR_ACTION = {"pull": Role.READ, "push": Role.WRITE, "delete": Role.ADMIN}
