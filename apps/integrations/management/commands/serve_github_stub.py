"""Serve recorded Copilot reports on a loopback port, standing in for api.github.com in the demo."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.integrations.github.stub_server import StubGitHubServer


class Command(BaseCommand):
    help = (
        "Serve recorded GitHub Copilot users-1-day reports from DIR/<org>/<YYYY-MM-DD>/*.ndjson "
        "until interrupted. Point GITHUB_API_URL at the printed address."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--root", required=True, type=Path, help="Directory of recorded reports.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="Port (default 8765; 0 picks a free one).")
        parser.add_argument(
            "--expect-token-from-env",
            metavar="VAR",
            help="Require this environment variable's value as the Bearer token (default: accept any).",
        )

    def handle(self, *args, root: Path, host: str, port: int, expect_token_from_env: str | None, **options) -> None:
        if not root.is_dir():
            raise CommandError(f"--root {root} is not a directory")
        expected = None
        if expect_token_from_env:
            expected = os.environ.get(expect_token_from_env) or None
            if expected is None:
                raise CommandError(f"Environment variable {expect_token_from_env} is not set")
        try:
            stub = StubGitHubServer(root, host=host, port=port, expected_token=expected)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        orgs = sorted(path.name for path in root.iterdir() if path.is_dir())
        self.stdout.write(f"Serving Copilot reports for {', '.join(orgs) or 'no orgs'} from {root}")
        self.stdout.write(f"  export GITHUB_API_URL={stub.base_url}")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            stub.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            stub.stop()
