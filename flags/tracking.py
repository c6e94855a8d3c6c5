"""Each flag evaluation, recorded on the Sentry scope."""

from __future__ import annotations

import sentry_sdk.feature_flags


def record_evaluation(name: str, result: bool) -> None:
    """Buffer the answer on the Sentry scope, so an error event in this call shows which flags were on."""
    sentry_sdk.feature_flags.add_feature_flag(name, result)
