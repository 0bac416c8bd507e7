"""Imports every feature's models so the metadata (and Alembic) sees the whole schema."""

from t21.ai.models import AIGeneration
from t21.analytics.models import PostAnalytics
from t21.auth.models import AccountToken, ApiKey, RefreshToken
from t21.billing.models import Invoice, StripeEvent, Subscription
from t21.brands.models import Brand
from t21.db.base import Base
from t21.media.models import MediaAsset
from t21.notifications.models import EmailMessage, Notification
from t21.organizations.models import Invitation, Organization, TeamMember
from t21.posts.models import IdempotencyRecord, Post, PublishAttempt, SocialPost
from t21.social_accounts.models import OAuthState, SocialAccount
from t21.two_factor.models import RecoveryCode, TwoFactor
from t21.users.models import User

__all__ = [
    "AIGeneration",
    "AccountToken",
    "ApiKey",
    "Base",
    "Brand",
    "EmailMessage",
    "IdempotencyRecord",
    "Invitation",
    "Invoice",
    "MediaAsset",
    "Notification",
    "OAuthState",
    "Organization",
    "Post",
    "PostAnalytics",
    "PublishAttempt",
    "RecoveryCode",
    "RefreshToken",
    "SocialAccount",
    "SocialPost",
    "StripeEvent",
    "Subscription",
    "TeamMember",
    "TwoFactor",
    "User",
]
