"""Embedded PostgreSQL (the `pgserver` wheel) for laptops and tests: no service to install."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path, *, stop_on_exit: bool = True) -> str:
    """Start (or reuse) the server whose files live in data_dir/pgdata and return its URL.

    A second start on the same directory reuses the running server and its data.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(
            data_dir.resolve() / "pgdata", cleanup_mode="stop" if stop_on_exit else None
        )
    uri: str = server.get_uri()
    log.info("embedded PostgreSQL at %s", data_dir / "pgdata")
    return uri
