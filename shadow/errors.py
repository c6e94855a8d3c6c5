class ShadowError(Exception):
    """Base of the shadow package's errors."""


class UnknownPairError(ShadowError, LookupError):
    """A pair name that the registry does not hold."""


class ShadowTimeout(ShadowError):
    """The shadow side used up its time budget."""


class ShadowMismatchError(ShadowError, AssertionError):
    """Raised in tests (SHADOW_RAISE_ON_MISMATCH) when the two sides disagree."""


class NotReadyError(ShadowError):
    """The readiness gate refused a flip: the team's evidence is not clean yet."""


class ShadowWriteRefused(ShadowError):
    """The shadow side of a read pair tried to write; it is stopped and recorded as its error."""


class PlanStateError(ShadowError):
    """A rollout plan cannot make this move from its status (resume an aborted plan, pause a paused one)."""
