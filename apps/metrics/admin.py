from django.contrib import admin

from apps.metrics.models import TeamMember


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "github_username", "team", "role", "is_active", "is_bot"]
    list_filter = ["is_bot", "is_active", "role", "team"]
    search_fields = ["display_name", "github_username", "email"]
    fields = ["team", "display_name", "github_username", "github_id", "email", "role", "is_active", "is_bot"]
    autocomplete_fields = ["team"]
