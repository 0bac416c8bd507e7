"""The one table of plan limits (DESIGN section 8). Everything that limits reads it from here."""

from __future__ import annotations

from dataclasses import dataclass

from t21.enums import Tier

UNLIMITED = None


@dataclass(frozen=True)
class Plan:
    tier: Tier
    brands: int
    social_accounts: int
    posts_per_month: int | None  # None = unlimited
    ai_credits_per_month: int
    team_seats: int
    features: frozenset[str]
    # Credits one AI call costs on this plan.
    ai_credits_per_call: int = 1


PLANS: dict[Tier, Plan] = {
    Tier.FREE: Plan(
        Tier.FREE,
        brands=1,
        social_accounts=3,
        posts_per_month=30,
        ai_credits_per_month=20,
        team_seats=1,
        features=frozenset(),
    ),
    Tier.PRO: Plan(
        Tier.PRO,
        brands=5,
        social_accounts=15,
        posts_per_month=500,
        ai_credits_per_month=500,
        team_seats=3,
        features=frozenset({"api_keys"}),
    ),
    Tier.BUSINESS: Plan(
        Tier.BUSINESS,
        brands=25,
        social_accounts=75,
        posts_per_month=UNLIMITED,
        ai_credits_per_month=3000,
        team_seats=15,
        features=frozenset({"api_keys", "approvals", "webhooks"}),
    ),
}


def plan_for(tier: str | Tier) -> Plan:
    return PLANS[Tier(tier)]
