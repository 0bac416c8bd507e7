from tests.publishing.conftest import fresh_networks, networks  # noqa: F401  (shared fixtures)
