"""The embedded PostgreSQL server used when DATABASE_URL is not set.

pgserver ships a real PostgreSQL build in its wheel. The server lives under
the data directory, listens on a Unix socket only, and stops when the last
process that asked for it exits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

DATABASE_NAME = "tformance"


def embedded_database_settings(data_dir: Path) -> dict:
    """Start (or join) the embedded server and return Django DATABASES['default']."""
    import psycopg

    with warnings.catch_warnings():
        # pgserver keeps its lock file under the runtime dir; the fallback it warns about is fine.
        warnings.simplefilter("ignore")
        import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    info = server.get_postmaster_info()
    host = str(info.socket_dir)
    port = info.port or 5432

    # The server starts with only the "postgres" database; the app's own is made once.
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": str(port),
    }
