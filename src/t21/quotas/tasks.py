from __future__ import annotations

from sqlalchemy import update

from t21.db.session import transaction
from t21.jobs.context import JobResources
from t21.kit.clock import utcnow
from t21.kit.timezones import month_start
from t21.organizations.models import Organization
from t21.users.models import User


async def reset_usage_counters(res: JobResources) -> None:
    """Monthly reset of post and AI-credit counters (the lazy reset in quotas.service covers a
    missed run)."""
    current = month_start(utcnow())
    async with transaction(res.db.sessionmaker) as session:
        for model in (User, Organization):
            await session.execute(
                update(model)
                .where(model.usage_period_start < current)
                .values(posts_this_month=0, ai_credits_used=0, usage_period_start=current)
            )
