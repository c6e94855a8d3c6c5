from django import forms
from django.contrib import admin

from apps.integrations.models import GitHubIntegration


class GitHubIntegrationForm(forms.ModelForm):
    # Write-only: the stored token is never sent back to the browser.
    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the current token.",
    )

    class Meta:
        model = GitHubIntegration
        fields = ["team", "org_slug", "access_token"]

    def clean_access_token(self) -> str:
        token = self.cleaned_data.get("access_token", "")
        if not token and self.instance.pk:
            return self.instance.access_token
        return token


@admin.register(GitHubIntegration)
class GitHubIntegrationAdmin(admin.ModelAdmin):
    form = GitHubIntegrationForm
    list_display = ["team", "org_slug", "token_set", "last_sync_at", "last_sync_status"]
    readonly_fields = ["last_sync_at", "last_sync_status", "last_sync_error"]

    @admin.display(boolean=True, description="Token set")
    def token_set(self, obj: GitHubIntegration) -> bool:
        return bool(obj.access_token)
