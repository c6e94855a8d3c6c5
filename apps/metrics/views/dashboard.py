from apps.teams.access import team_view


@team_view
def dashboard(request):
    raise NotImplementedError
