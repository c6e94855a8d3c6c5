class FlagError(Exception):
    """Base of the flags package's errors."""


class UnknownFlagError(FlagError, LookupError):
    """A flag name that the registry does not declare."""


class UnknownTeamError(FlagError, LookupError):
    """A team slug that matches no team."""
