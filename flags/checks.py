"""Start-up checks: flag settings are valid, and every flag name used in code is registered."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Error, Tags, register

from flags import conf
from flags.registry import ROLLOUT_FLAGS

# Calls whose first argument names a flag: flags.is_enabled(name, …), waffle's flag_is_active(request, name).
FLAG_CALLS = {"is_enabled": 0, "flag_is_active": 1}
TEMPLATE_FLAG_TAG = re.compile(r"""{%\s*flag\s+["']([^"']+)["']""")


def flag_names_used(root: Path, directories: list[str]) -> list[tuple[str, str]]:
    """(name, "file:line") for each literal flag name used in Python calls or {% flag %} tags."""
    found: list[tuple[str, str]] = []
    for directory in directories:
        base = root / directory
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                position = FLAG_CALLS.get(called) if isinstance(called, str) else None
                if position is None or len(node.args) <= position:
                    continue
                argument = node.args[position]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.append((argument.value, f"{path.relative_to(root)}:{node.lineno}"))
        for path in sorted(base.rglob("*.html")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                found.extend((name, f"{path.relative_to(root)}:{number}") for name in TEMPLATE_FLAG_TAG.findall(line))
    return found


@register(Tags.compatibility)
def check_flag_names_registered(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    return [
        Error(
            f"Rollout flag {name!r} is used at {where} but not declared in flags/registry.py",
            hint=f"Registered flags: {', '.join(ROLLOUT_FLAGS.names())}",
            id="flags.E001",
        )
        for name, where in flag_names_used(Path(settings.BASE_DIR), conf.scan_dirs())
        if name not in ROLLOUT_FLAGS
    ]


@register()
def check_flag_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if not isinstance(conf.raise_on_unknown(), bool):
        errors.append(Error("FLAGS_RAISE_ON_UNKNOWN must be True or False", id="flags.E002"))
    stale = conf.get("FLAGS_MAX_STALE_SECONDS")
    if isinstance(stale, bool) or not isinstance(stale, (int, float)) or not 0 < stale <= 3600:
        errors.append(Error("FLAGS_MAX_STALE_SECONDS must be a number of seconds above 0, at most 3600", id="flags.E006"))
    salt = conf.percent_salt()
    if not isinstance(salt, str) or not salt:
        errors.append(Error("FLAGS_PERCENT_SALT must be a non-empty string", id="flags.E003"))
    if getattr(settings, "WAFFLE_FLAG_MODEL", None) != "flags.Flag":
        errors.append(Error('WAFFLE_FLAG_MODEL must be "flags.Flag"', id="flags.E004"))
    if getattr(settings, "WAFFLE_CACHE_NAME", "default") not in settings.CACHES:
        errors.append(Error("WAFFLE_CACHE_NAME must name one of CACHES", id="flags.E005"))
    return errors
