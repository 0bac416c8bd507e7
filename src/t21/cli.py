"""The `t21` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console

from t21.config import MissingSecretsError, Settings, get_settings

app = typer.Typer(
    help="T21: social-media management you can run yourself.", no_args_is_help=True, add_completion=False
)
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
    _refuse_newer_schema(url)
    migrate(url)
    return url


def _refuse_newer_schema(url: str) -> None:
    """Code older than its database would misread tables it does not know: stop, and say so.
    (Behind is fine for `serve`, which migrates; `api` and `worker` are told to migrate.)"""
    from t21.db.database import SchemaState, schema_state

    schema = schema_state(url)
    if schema.state == SchemaState.AHEAD:
        console.print(
            f"[red]The database was migrated by a newer T21 (revision {', '.join(schema.database)}); "
            f"this T21 knows migrations up to {', '.join(schema.code)}. Run the newer T21, or restore "
            "a backup taken before the upgrade.[/red]"
        )
        raise typer.Exit(3)


def _require_current_schema(settings: Settings) -> None:
    from t21.db.database import SchemaState, resolve_database_url, schema_state

    url = resolve_database_url(settings)
    _refuse_newer_schema(url)
    if schema_state(url).state == SchemaState.BEHIND:
        console.print("[red]The database has migrations pending: run `t21 migrate` first.[/red]")
        raise typer.Exit(3)


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
    from t21.sentry import init_sentry

    init_sentry(settings, component="api")
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
    url = f"http://{host or settings.host}:{port}" if port else settings.base_url
    console.print(f"[bold]T21[/bold] on {url} (data in {settings.data_dir.resolve()})")
    _run_api(settings, in_process_worker=True, host=host, port=port)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind (T21_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (T21_PORT)")] = None,
) -> None:
    """The API alone (production: run `t21 worker` processes beside it)."""
    settings = _settings()
    _require_current_schema(settings)
    _run_api(settings, in_process_worker=False, host=host, port=port)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs at once (T21_WORKER_CONCURRENCY)")] = None,
    queue: Annotated[list[str] | None, typer.Option(help="Only these queues (repeatable)")] = None,
) -> None:
    """Run background jobs: publishing, emails, token refresh, analytics, sweeps. Run as many as
    you like against one database; they share the work."""
    from t21.jobs.runner import Worker
    from t21.observability import configure_logging

    settings = _settings()
    _require_current_schema(settings)
    configure_logging(settings)
    from t21.sentry import init_sentry

    init_sentry(settings, component="worker")
    runner = Worker(settings, concurrency=concurrency, queues=queue or None)
    with contextlib.suppress(KeyboardInterrupt), _event_loop() as loop:
        loop.run(runner.serve_forever())


def _event_loop() -> asyncio.Runner:
    """uvloop where it is installed (uvicorn[standard] brings it; the API already runs on it):
    a publish waits on sockets a dozen times, and the default loop's per-wait cost showed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


@app.command()
def doctor() -> None:
    """Check the configuration and every configured service, and say what is missing."""
    from rich.table import Table

    from t21.doctor import FAIL, OK, run_checks

    settings = _settings()
    checks = asyncio.run(run_checks(settings))
    marks = {OK: "[green]ok[/green]", FAIL: "[red]FAIL[/red]"}
    table = Table(show_header=True, header_style="bold")
    for column in ("", "area", "finding"):
        table.add_column(column)
    for check in checks:
        table.add_row(marks.get(check.status, "[yellow]warn[/yellow]"), check.area, check.message)
    Console().print(table)
    failed = [c for c in checks if c.status == FAIL]
    if failed:
        console.print(f"[red]{len(failed)} problem(s) to fix before T21 can run properly.[/red]")
        raise typer.Exit(1)
    console.print("[green]T21 is ready.[/green]")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    admin: Annotated[bool, typer.Option("--admin", help="An instance admin (the Admin page)")] = False,
) -> None:
    """Create a user (for a first admin on a fresh install: --admin). Signing up never makes anyone
    an instance admin, not even the first person."""
    from pydantic import ValidationError

    from t21.auth.schemas import RegisterIn
    from t21.auth.service import AuthService
    from t21.db.database import Database
    from t21.db.session import transaction
    from t21.errors import T21Error
    from t21.kit.clock import utcnow

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
                # Whoever runs the install vouches for the address (T21_REQUIRE_VERIFIED_EMAIL must
                # not hold back the first admin of an install whose email is not set up yet).
                user.email_verified_at = utcnow()
                user.is_admin = admin
                role = " as an instance admin" if admin else ""
                console.print(f"[green]created {user.email} ({user.id}){role}[/green]")
        finally:
            await db.dispose()

    try:
        asyncio.run(_create())
    except T21Error as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None


@app.command("make-admin")
def make_admin(
    email: Annotated[str, typer.Argument(help="The email address of an existing user")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the admin role away instead")] = False,
) -> None:
    """Make an existing user an instance admin (or no longer one, with --revoke)."""
    from t21.admin.service import set_admin
    from t21.db.database import Database
    from t21.db.session import transaction

    settings = _settings()
    url = _migrate(settings)

    async def _set() -> str | None:
        db = Database.connect(settings, url)
        try:
            async with transaction(db.sessionmaker) as session:
                user = await set_admin(session, email, admin=not revoke)
                return None if user is None else user.email
        finally:
            await db.dispose()

    found = asyncio.run(_set())
    if found is None:
        console.print(f"[red]no user with the email address {email}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]{found} is {'no longer' if revoke else 'now'} an instance admin[/green]")


@app.command()
def openapi() -> None:
    """Print the OpenAPI spec (JSON)."""
    from t21.main import create_app

    # The spec does not depend on secrets; fixed placeholders keep `openapi` free of side effects.
    settings = Settings(
        secret_key=SecretStr("openapi-export"),
        encryption_keys=SecretStr("Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w="),
    )
    sys.stdout.write(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every social token and OAuth verifier under the newest key of
    T21_ENCRYPTION_KEYS (put the new key first, run this, then drop the old key)."""
    from t21.db.database import Database
    from t21.social_accounts.service import RotationReport, rotate_encryption_keys

    settings = _settings()
    url = _migrate(settings)

    async def _rotate() -> RotationReport:
        db = Database.connect(settings, url)
        try:
            return await rotate_encryption_keys(db.sessionmaker, settings)
        finally:
            await db.dispose()

    report = asyncio.run(_rotate())
    typer.echo(f"social accounts re-encrypted: {report.accounts}")
    typer.echo(f"oauth states re-encrypted: {report.states}")
    if report.failed:
        for what in report.failed:
            console.print(f"[red]no configured key opens {what}; left as it was[/red]")
        raise typer.Exit(1)


# Every emulator `t21 emulate` serves (modules of t21.emulators).
_EMULATED = ("x", "instagram", "linkedin", "openrouter", "stripe", "resend")


def _emulator_env(name: str, url: str, settings: Settings) -> tuple[dict[str, str], dict[str, object]]:
    """The T21_* lines pointing T21 at one emulator, and the emulator's create_app arguments."""
    if name == "x":
        return {
            "T21_X_API_BASE": url,
            "T21_X_AUTH_BASE": url,
            "T21_X_CLIENT_ID": "emulated-x",
            "T21_X_CLIENT_SECRET": "emulated-x-secret",
        }, {}
    if name == "instagram":
        return {
            "T21_INSTAGRAM_API_BASE": url,
            "T21_INSTAGRAM_AUTH_BASE": url,
            "T21_INSTAGRAM_APP_ID": "emulated-instagram",
            "T21_INSTAGRAM_APP_SECRET": "emulated-instagram-secret",
        }, {}
    if name == "linkedin":
        return {
            "T21_LINKEDIN_API_BASE": url,
            "T21_LINKEDIN_AUTH_BASE": url,
            "T21_LINKEDIN_CLIENT_ID": "emulated-linkedin",
            "T21_LINKEDIN_CLIENT_SECRET": "emulated-linkedin-secret",
        }, {}
    if name == "openrouter":
        return {"T21_OPENROUTER_BASE_URL": f"{url}/api/v1", "T21_OPENROUTER_API_KEY": "sk-or-emulated"}, {}
    if name == "stripe":
        import secrets

        secret = "whsec_emulated_" + secrets.token_hex(16)
        from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS, DEFAULT_PRICE_PRO

        return (
            {
                "T21_STRIPE_API_BASE": url,
                "T21_STRIPE_SECRET_KEY": "sk_test_emulated",
                "T21_STRIPE_WEBHOOK_SECRET": secret,
                "T21_STRIPE_PRICE_PRO": DEFAULT_PRICE_PRO,
                "T21_STRIPE_PRICE_BUSINESS": DEFAULT_PRICE_BUSINESS,
            },
            {"webhook_url": f"{settings.base_url}/api/v1/webhooks/stripe", "webhook_secret": secret},
        )
    if name == "resend":
        return {"T21_RESEND_BASE_URL": url, "T21_RESEND_API_KEY": "re_emulated"}, {}
    raise ValueError(name)


@app.command()
def emulate(
    base_port: Annotated[
        int | None,
        typer.Option(help="First port; the emulators take consecutive ones (default: any free ports)"),
    ] = None,
) -> None:
    """Serve every external API's emulator on 127.0.0.1 for offline use, and print the T21_*
    settings that point T21 at them. Ctrl-C stops them."""
    import importlib
    import time

    from t21.emulators.base import RunningServer, free_port

    settings = Settings()
    servers: list[RunningServer] = []
    lines: list[str] = []
    try:
        for offset, name in enumerate(_EMULATED):
            try:
                module = importlib.import_module(f"t21.emulators.{name}")
            except ModuleNotFoundError:
                console.print(f"[yellow]no {name} emulator in this build; skipped[/yellow]")
                continue
            port = base_port + offset if base_port else free_port()
            env, kwargs = _emulator_env(name, f"http://127.0.0.1:{port}", settings)
            servers.append(RunningServer(module.create_app(**kwargs), port=port).start())
            console.print(f"[green]{name}[/green] on http://127.0.0.1:{port}")
            lines += [f"{key}={value}" for key, value in env.items()]
        # The sandbox is not needed: every network now has (emulated) credentials.
        lines.append("T21_SANDBOX_ENABLED=false")
        typer.echo("\n".join(lines))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()


@app.command()
def outbox(
    limit: Annotated[int, typer.Option(help="How many recent emails to list")] = 20,
    show: Annotated[str | None, typer.Option("--show", help="Print one email's text (id or prefix)")] = None,
) -> None:
    """Recent emails (the local outbox in development, and what Resend/SMTP sent)."""
    from t21.db.database import Database, resolve_database_url
    from t21.db.session import transaction
    from t21.notifications.repository import EmailRepository

    settings = _settings()

    async def _run() -> int:
        db = Database.connect(settings, resolve_database_url(settings))
        try:
            async with transaction(db.sessionmaker) as session:
                repo = EmailRepository(session)
                if show is None:
                    for email in await repo.recent(limit):
                        created = email.created_at.strftime("%Y-%m-%d %H:%M:%S")
                        typer.echo(
                            f"{str(email.id)[:8]}  {created}  {email.status:<7}  "
                            f"{email.to_address:<32}  {email.subject}"
                        )
                    return 0
                found = await repo.find_by_id_prefix(show.strip())
                if len(found) != 1:
                    what = "no email" if not found else "several emails"
                    console.print(f"[red]{what} match {show!r}[/red]")
                    return 1
                email = found[0]
                typer.echo(
                    f"ID:      {email.id}\nTo:      {email.to_address}\nSubject: {email.subject}\n"
                    f"Status:  {email.status}\nCreated: {email.created_at.isoformat()}"
                )
                if email.error:
                    typer.echo(f"Error:   {email.error}")
                typer.echo(f"\n{email.text_body}")
                return 0
        finally:
            await db.dispose()

    raise typer.Exit(asyncio.run(_run()))


@app.command()
def backup(
    to: Annotated[Path | None, typer.Option("--to", help="Archive path (default: T21_BACKUP_DIR)")] = None,
) -> None:
    """Back up the database, local media and generated secrets into one archive (safe while T21 runs)."""
    from t21.db.database import resolve_database_url
    from t21.ops.backup import BackupError, default_backup_path
    from t21.ops.backup import backup as run_backup

    settings = _settings()
    target = to or default_backup_path(settings)
    try:
        manifest = run_backup(settings, resolve_database_url(settings), target)
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    rows = ", ".join(f"{count} {table}" for table, count in manifest.counts.items() if count)
    console.print(f"[green]backed up to {target}[/green] ({len(manifest.sha256)} parts; {rows or 'no rows'})")


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive written by `t21 backup`")],
    force: Annotated[bool, typer.Option(help="Replace a database or media folder that is not empty")] = False,
) -> None:
    """Restore a backup into an empty database (and T21_DATA_DIR), then migrate it forward."""
    from t21.db.database import resolve_database_url
    from t21.ops.backup import BackupError
    from t21.ops.backup import restore as run_restore

    settings = _settings()
    if not archive.is_file():
        console.print(f"[red]{archive} does not exist[/red]")
        raise typer.Exit(1)
    url = resolve_database_url(settings)
    _refuse_newer_schema(url)
    try:
        manifest = run_restore(settings, url, archive, force=force)
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"[green]restored {archive}[/green] (taken {manifest.created_at} by T21 {manifest.t21_version})"
    )


if __name__ == "__main__":
    app()
