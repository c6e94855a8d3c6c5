from typing import Any

from django.db.models.signals import post_delete, post_save

from shadow.models import SamplingRate
from shadow.sampling import forget_rates


def rate_changed(sender: type[SamplingRate], instance: SamplingRate, **kwargs: Any) -> None:
    forget_rates(instance.pair_name)


def connect() -> None:
    post_save.connect(rate_changed, sender=SamplingRate, dispatch_uid="shadow-rate-saved")
    post_delete.connect(rate_changed, sender=SamplingRate, dispatch_uid="shadow-rate-deleted")
