from __future__ import annotations

from t21.errors import Forbidden


class AdminOnly(Forbidden):
    code = "admin_only"
    message = "Only an instance admin can do this"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    message = "This account was disabled by the administrator of this T21 instance"
