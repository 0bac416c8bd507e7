"""Backups that restore: one archive with the database, local media and the generated secrets.

An archive is a tar file holding
  manifest.json   T21's version, the migration head, row counts, and the sha256 of every part;
  database.dump   `pg_dump --format=custom` (a consistent snapshot: taking it while T21 runs is safe);
  media/...       the files of local media storage (none when media live on S3/R2);
  secrets.json    the secrets generated in development (T21_DATA_DIR/secrets.json), if any:
                  without its encryption keys the social tokens in the dump cannot be read.

`restore` goes only into an empty database (and media directory) unless forced, checks every
part against the manifest before touching anything, then migrates forward when the archive comes
from an older T21. Scheduled posts need nothing more: a target gets its publish job from the
workers' queuer when it comes due, so a restored schedule goes out on time, once.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import psycopg

from t21.config import Settings
from t21.db.database import migrate, schema_state
from t21.db.urls import libpq_url

FORMAT = 1
# Rows counted into the manifest (and compared by `restore`'s caller or a drill).
COUNTED_TABLES = (
    "users",
    "organizations",
    "brands",
    "social_accounts",
    "posts",
    "social_posts",
    "media_assets",
    "post_analytics",
    "ai_generations",
)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in plain words."""


@dataclass(frozen=True)
class Manifest:
    format: int
    t21_version: str
    created_at: str
    migration_heads: list[str]
    counts: dict[str, int]
    sha256: dict[str, str]

    @classmethod
    def read(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(f"this archive has format {data.get('format')!r}; this T21 reads {FORMAT}")
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def _server_major(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return int(conn.info.server_version) // 10000


def _tool(name: str, server_major: int) -> str:
    """The PostgreSQL client tool (pg_dump, pg_restore) for this server: the same major version
    where one is installed (the embedded server's own binaries, or the system's), else the newest
    that is not older than the server (pg_dump refuses newer servers; pg_restore of a newer dump
    into an older server is not guaranteed)."""
    candidates: list[Path] = []
    try:
        import pgserver  # the embedded PostgreSQL's binaries

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:  # pragma: no cover - pgserver is a dependency
        pass
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    found: dict[int, str] = {}
    for candidate in candidates:
        if not candidate.exists():
            continue
        out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by T21, with arguments it built
            [str(candidate), "--version"], capture_output=True, text=True, check=False
        ).stdout
        match = re.search(r"(\d+)\.\d+", out)
        if match:
            found.setdefault(int(match.group(1)), str(candidate))
    if server_major in found:
        return found[server_major]
    newer = sorted(major for major in found if major > server_major)
    if newer:
        return found[newer[-1]]
    raise BackupError(
        f"no {name} for PostgreSQL {server_major} is installed (found {sorted(found) or 'none'})"
    )


def _counts(url: str) -> dict[str, int]:
    counts = {}
    with psycopg.connect(libpq_url(url)) as conn:
        for table in COUNTED_TABLES:
            exists = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            if exists and exists[0]:
                row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608 - fixed names
                counts[table] = int(row[0]) if row else 0
    return counts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_root(settings: Settings) -> Path:
    return (settings.data_dir / "media").resolve()


def default_backup_path(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return settings.backup_dir_path / f"t21-backup-{stamp}.tar"


def backup(settings: Settings, database_url: str, target: Path) -> Manifest:
    """Write the archive to `target` (atomically: a partial archive never has the final name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="t21-backup-") as work_dir:
        work = Path(work_dir)
        dump = work / "database.dump"
        pg_dump = _tool("pg_dump", _server_major(database_url))
        run = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by T21, with arguments it built
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={dump}",
                libpq_url(database_url),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_dump failed: {run.stderr.strip()[-2000:]}")
        parts: dict[str, Path] = {"database.dump": dump}
        media = _media_root(settings)
        if media.is_dir():
            for file in sorted(p for p in media.rglob("*") if p.is_file() and not p.name.endswith(".part")):
                parts[f"media/{file.relative_to(media).as_posix()}"] = file
        secrets = settings.data_dir / "secrets.json"
        if secrets.is_file():
            parts["secrets.json"] = secrets
        manifest = Manifest(
            format=FORMAT,
            t21_version=package_version("t21"),
            created_at=datetime.now(UTC).isoformat(),
            migration_heads=list(schema_state(database_url).database),
            counts=_counts(database_url),
            sha256={name: _sha256(path) for name, path in parts.items()},
        )
        partial = target.with_name(f".{target.name}.part")
        with tarfile.open(partial, "w") as archive:
            raw = json.dumps(manifest.__dict__, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
            for name, path in parts.items():
                archive.add(path, arcname=name, recursive=False)
        partial.replace(target)
    return manifest


def _safe_members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    members = {}
    for member in archive.getmembers():
        name = member.name
        if not member.isfile() or name.startswith("/") or ".." in Path(name).parts:
            raise BackupError(f"the archive holds an entry T21 never writes: {name!r}")
        members[name] = member
    return members


def read_manifest(source: Path) -> Manifest:
    with tarfile.open(source, "r") as archive:
        member = _safe_members(archive).get("manifest.json")
        handle = archive.extractfile(member) if member else None
        if handle is None:
            raise BackupError(f"{source} has no manifest.json: it is not a T21 backup")
        return Manifest.read(handle.read())


def _database_is_empty(url: str) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return not row or row[0] == 0


def restore(settings: Settings, database_url: str, source: Path, *, force: bool = False) -> Manifest:
    """Restore `source` into `database_url` and T21_DATA_DIR, then migrate forward."""
    with tempfile.TemporaryDirectory(prefix="t21-restore-") as work_dir:
        work = Path(work_dir)
        with tarfile.open(source, "r") as archive:
            members = _safe_members(archive)
            if "manifest.json" not in members:
                raise BackupError(f"{source} has no manifest.json: it is not a T21 backup")
            archive.extractall(work, members=list(members.values()), filter="data")
        manifest = Manifest.read((work / "manifest.json").read_bytes())
        missing = set(manifest.sha256) - set(members)
        if missing:
            raise BackupError(f"the archive lacks {sorted(missing)} that its manifest lists")
        for name, expected in manifest.sha256.items():
            if _sha256(work / name) != expected:
                raise BackupError(f"{name} does not match its checksum: the archive is damaged")
        media = _media_root(settings)
        media_parts = [name for name in manifest.sha256 if name.startswith("media/")]
        if not force:
            if not _database_is_empty(database_url):
                raise BackupError(
                    "the database is not empty; restore into an empty one, or pass --force to replace it"
                )
            if media_parts and media.is_dir() and any(media.iterdir()):
                raise BackupError(f"{media} is not empty; pass --force to replace its files")
        pg_restore = _tool("pg_restore", _server_major(database_url))
        command = [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={libpq_url(database_url)}",
        ]
        if force:
            command += ["--clean", "--if-exists"]
        run = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by T21, with arguments it built
            [*command, str(work / "database.dump")], capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise BackupError(f"pg_restore failed: {run.stderr.strip()[-2000:]}")
        for name in media_parts:
            destination = media / name.removeprefix("media/")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / name, destination)
        if "secrets.json" in manifest.sha256:
            secrets = settings.data_dir / "secrets.json"
            if force or not secrets.exists():
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy2(work / "secrets.json", secrets)
    # An archive from an older T21 is brought up to this code's schema.
    migrate(database_url)
    return manifest


def latest_backup(settings: Settings) -> tuple[Path, Manifest] | None:
    """The newest archive in T21_BACKUP_DIR that reads as a backup (for `t21 doctor`)."""
    folder = settings.backup_dir_path
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("t21-backup-*.tar"), reverse=True):
        try:
            return path, read_manifest(path)
        except (BackupError, tarfile.TarError, OSError, ValueError, KeyError):
            continue
    return None


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "created_at": manifest.created_at,
        "t21_version": manifest.t21_version,
        "migration_heads": manifest.migration_heads,
        "counts": manifest.counts,
        "parts": len(manifest.sha256),
    }
