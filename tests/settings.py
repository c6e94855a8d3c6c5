"""The test run's settings: the product's own, on a developer's footing (debug on, development key).

Debug is off by default in tformance.settings; tests turn it on explicitly,
as `make` does, and child processes they start inherit the same environment.
pytest-django still runs each test with DEBUG off, as production would.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from tformance.settings import *  # noqa: E402, F403
