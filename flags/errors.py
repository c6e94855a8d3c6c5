class FlagError(Exception):
    """Base of the flags package's errors."""


class UnknownFlagError(FlagError, LookupError):
    """A flag name that the registry does not declare."""


class UnknownTeamError(FlagError, LookupError):
    """A team slug that matches no team."""


class GateRefusedError(FlagError):
    """Switching teams on was refused by an enable guard (the shadow readiness gate)."""

    def __init__(self, flag_name: str, problems: list[str]):
        self.flag_name = flag_name
        self.problems = problems
        super().__init__(
            f"{flag_name} is not ready for: {'; '.join(problems)}. Use --force with a --reason to override."
        )
