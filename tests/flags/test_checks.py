"""Start-up checks: flag names used in code must be registered; flag settings must be valid."""

from __future__ import annotations

from django.core.management import call_command

from flags.checks import check_flag_names_registered, check_flag_settings, flag_names_used


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_names_are_found_in_python_calls_and_template_tags(tmp_path):
    """is_enabled(name, …), flag_is_active(request, name) and {% flag "name" %} are all seen."""
    write(tmp_path / "app" / "views.py", (
        "import flags\nfrom waffle import flag_is_active\n"
        "def v(request, team):\n"
        "    flags.is_enabled('metrics.key_metrics', team=team)\n"
        "    return flag_is_active(request, 'metrics.typo')\n"
    ))
    write(tmp_path / "app" / "page.html", '{% load waffle_tags %}\n{% flag "metrics.other_typo" %}x{% endflag %}\n')
    assert flag_names_used(tmp_path, ["app"]) == [
        ("metrics.key_metrics", "app/views.py:4"),
        ("metrics.typo", "app/views.py:5"),
        ("metrics.other_typo", "app/page.html:2"),
    ]


def test_an_unregistered_name_in_code_fails_the_check(tmp_path, settings):
    """A flag used under a name the registry does not declare is a start-up error (flags.E001)."""
    write(tmp_path / "app" / "tasks.py", "import flags\nflags.is_enabled('metrics.team_brakedown', team=None)\n")
    settings.BASE_DIR = tmp_path
    settings.FLAGS_SCAN_DIRS = ["app"]
    [error] = check_flag_names_registered()
    assert error.id == "flags.E001"
    assert "'metrics.team_brakedown' is used at app/tasks.py:2" in error.msg
    assert "metrics.team_breakdown" in error.hint


def test_the_project_itself_passes_every_check():
    """manage.py check is clean for the code as it is (and would raise on an error)."""
    call_command("check", fail_level="ERROR")


def test_bad_flag_settings_are_reported(settings):
    """An empty salt, a non-boolean raise setting and an unknown waffle cache are start-up errors."""
    settings.FLAGS_PERCENT_SALT = ""
    settings.FLAGS_RAISE_ON_UNKNOWN = "yes"
    settings.WAFFLE_CACHE_NAME = "nope"
    assert sorted(error.id for error in check_flag_settings()) == ["flags.E002", "flags.E003", "flags.E005"]
