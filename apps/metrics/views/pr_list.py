from apps.teams.access import team_view


@team_view
def pr_list(request):
    raise NotImplementedError


@team_view
def pr_export_csv(request):
    raise NotImplementedError
