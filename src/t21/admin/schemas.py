from __future__ import annotations

import uuid
from datetime import datetime

from t21.kit.schemas import Schema


class AdminUsage(Schema):
    brands: int  # the person's own brands (not their organizations')
    social_accounts: int  # connected to those brands
    posts_this_month: int
    ai_credits_used: int  # this month
    last_login_at: datetime | None


class AdminUserOut(Schema):
    id: uuid.UUID
    email: str
    name: str
    email_verified: bool
    is_admin: bool
    disabled: bool
    disabled_at: datetime | None
    subscription_tier: str
    created_at: datetime
    usage: AdminUsage
