"""Integration services: fetch external data, validate it, store it for one team."""
