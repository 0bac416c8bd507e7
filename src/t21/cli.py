"""The `t21` command."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from t21.config import MissingSecretsError, Settings, get_settings

app = typer.Typer(help="T21: social-media management you can run yourself.", no_args_is_help=True,
                  add_completion=False)
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return get_settings()
    except MissingSecretsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _migrate(settings: Settings) -> str:
    from t21.db.database import migrate, resolve_database_url

    url = resolve_database_url(settings)
    migrate(url)
    return url


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = _settings()
    _migrate(settings)
    console.print("[green]database is up to date[/green]")


def _run_api(settings: Settings, *, in_process_worker: bool, host: str | None, port: int | None) -> None:
    import uvicorn

    from t21.main import create_app
    from t21.observability import configure_logging

    configure_logging(settings)
    lifecycles = []
    if in_process_worker:
        from t21.jobs.runner import in_process_worker_lifecycle

        lifecycle = in_process_worker_lifecycle()
        if lifecycle is not None:
            lifecycles.append(lifecycle)
    application = create_app(settings, lifecycles=lifecycles)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (T21_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (T21_PORT)")] = None,
) -> None:
    """Everything in one process: migrations, API, web app and an in-process worker.
    Starts the embedded PostgreSQL unless T21_DATABASE_URL is set."""
    settings = _settings()
    _migrate(settings)
    console.print(f"[bold]T21[/bold] on {settings.base_url if not port else f'http://{host or settings.host}:{port}'}"
                  f" (data in {settings.data_dir.resolve()})")
    _run_api(settings, in_process_worker=True, host=host, port=port)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind (T21_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (T21_PORT)")] = None,
) -> None:
    """The API alone (production: run `t21 worker` processes beside it)."""
    settings = _settings()
    _run_api(settings, in_process_worker=False, host=host, port=port)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a user (for a first admin on a fresh install)."""
    from pydantic import ValidationError

    from t21.auth.schemas import RegisterIn
    from t21.auth.service import AuthService
    from t21.db.database import Database
    from t21.db.session import transaction
    from t21.errors import T21Error

    settings = _settings()
    url = _migrate(settings)
    try:
        data = RegisterIn(email=email, password=password, name=name)
    except ValidationError as exc:
        for err in exc.errors():
            console.print(f"[red]{'.'.join(map(str, err['loc']))}: {err['msg']}[/red]")
        raise typer.Exit(1) from None

    async def _create() -> None:
        db = Database.connect(settings, url)
        try:
            async with transaction(db.sessionmaker) as session:
                user, _ = await AuthService(session, settings).register(data, "t21 create-user")
                console.print(f"[green]created {user.email} ({user.id})[/green]")
        finally:
            await db.dispose()

    try:
        asyncio.run(_create())
    except T21Error as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None


@app.command()
def openapi() -> None:
    """Print the OpenAPI spec (JSON)."""
    from t21.main import create_app

    settings = Settings(secret_key="openapi-export", encryption_keys="Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w=")  # type: ignore[arg-type]
    sys.stdout.write(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    app()
