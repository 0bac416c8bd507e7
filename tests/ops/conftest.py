"""The publishing fixtures (emulators served as the sandbox, an app pointed at them)."""

from tests.publishing.conftest import fresh_networks, http, networks, pub_app

__all__ = ["fresh_networks", "http", "networks", "pub_app"]
