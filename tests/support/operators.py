"""Operator logins for the console and admin tests: staff with exactly the permissions a test names."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission

from tests.factories import UserFactory


def operator(*permissions: str, username: str = "olga", evidence: bool = True) -> Any:
    """A staff user holding shadow.view_evidence (unless evidence=False) and the given "app.codename" permissions."""
    user = UserFactory(username=username, is_staff=True)
    for permission in (("shadow.view_evidence",) if evidence else ()) + permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user
