"""Test helpers that run real loopback servers (Sentry ingest) and their pytest fixtures."""
