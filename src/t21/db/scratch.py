"""Throwaway databases on a PostgreSQL server: one per test run, benchmark or generator run, so
runs never share state and never collide."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from t21.db.urls import libpq_url


def create_database(server_url: str, prefix: str = "t21_scratch") -> str:
    """Create an empty database next to `server_url`'s and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop it, disconnecting whoever is still connected."""
    name = make_url(database_url).database
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def scratch_database(server_url: str, prefix: str = "t21_scratch") -> Iterator[str]:
    url = create_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(server_url, url)
