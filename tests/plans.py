"""Settings that turn billing on, for the tests of plan limits (DESIGN section 8): with billing
off (no Stripe keys: a self-hosted install) no plan applies and nothing is limited. Stripe is
never called by these tests; the keys only make the plans apply."""

from __future__ import annotations

from typing import Any

BILLING_ON: dict[str, Any] = {
    "stripe_secret_key": "sk_test_plans",
    "stripe_webhook_secret": "whsec_test_plans",
}
