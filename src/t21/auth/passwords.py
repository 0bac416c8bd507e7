"""Password hashing with bcrypt, off the event loop (a hash costs ~250 ms at 12 rounds)."""

from __future__ import annotations

import anyio
import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores everything past 72 bytes; refuse rather than silently truncate

# A real hash to compare against when the email is unknown, so both paths take the same time.
_DUMMY_HASH = bcrypt.hashpw(b"t21-dummy-password", bcrypt.gensalt(rounds=4)).decode()


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password.encode()) > MAX_BYTES:
        return f"Password must be at most {MAX_BYTES} bytes (UTF-8)"
    return None


async def hash_password(password: str, rounds: int) -> str:
    def _hash() -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()

    return await anyio.to_thread.run_sync(_hash)


async def verify_password(password: str, password_hash: str | None) -> bool:
    target = password_hash or _DUMMY_HASH

    def _check() -> bool:
        try:
            return bcrypt.checkpw(password.encode()[:MAX_BYTES], target.encode())
        except ValueError:
            return False

    ok = await anyio.to_thread.run_sync(_check)
    return ok and password_hash is not None
