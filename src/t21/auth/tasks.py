"""Auth jobs: the password reset email (see auth/recovery.py: the API hands every address to this
job, so its answer does not depend on whether the address has an account)."""

from __future__ import annotations

from t21.auth.recovery import issue_reset
from t21.db.session import transaction
from t21.jobs.app import app
from t21.jobs.context import JobResources, resources


async def password_reset_job(res: JobResources, email: str) -> bool:
    async with transaction(res.db.sessionmaker) as session:
        return await issue_reset(session, res.settings, email)


@app.task(name="t21.send_password_reset", queue="email")
async def send_password_reset(email: str) -> None:
    await password_reset_job(resources(), email)
