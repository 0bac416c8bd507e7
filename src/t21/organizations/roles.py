"""The role matrix: what each role of a brand's team may do, in one table.

Every role check in the services names an `Action` (`require_brand(..., Action.write_posts)`,
`require_membership(..., Action.invite_members)`, `ensure_allowed(role, Action.use_ai)`), and
`ROLE_MATRIX` says which role it takes. Nothing else compares roles for permission, so a change to
who may do what is a change to this table (and to the README's "Roles" section, rendered from it by
`roles_markdown()`; tests/organizations/test_role_matrix.py fails when the two differ, and calls
every brand- or organization-scoped endpoint as each role to prove the table is what the API does).

The roles of an organization are ordered owner > admin > editor > viewer, and the person who owns a
personal brand is its owner. `ROLE_MATRIX` gives each action the least role allowed. A role outside
that line (such as issue 18's *client*: view the posts, comment, approve, request changes, nothing
else) is meant to come as its own column: `allows()` is the one place that answers "may this role do
this", so it would read that column instead of the rank for such a role.

API keys have scopes (t21.auth.scopes) on top of this: a key acts as its owner, within its scopes.
"""

from __future__ import annotations

from enum import StrEnum

from t21.enums import Role
from t21.errors import Forbidden

__all__ = [
    "ACTION_DESCRIPTIONS",
    "ROLE_MATRIX",
    "ROLE_ORDER",
    "Action",
    "allows",
    "ensure_allowed",
    "forbidden",
    "min_role",
    "roles_markdown",
]


class Action(StrEnum):
    """What a member may do. Brand actions are checked on a brand (through `require_brand`),
    organization actions on an organization (through `require_membership`)."""

    # --- on a brand ---
    view_brand = "view_brand"
    edit_brand = "edit_brand"
    delete_brand = "delete_brand"
    view_posts = "view_posts"
    write_posts = "write_posts"
    publish_posts = "publish_posts"
    view_media = "view_media"
    upload_media = "upload_media"
    delete_media = "delete_media"
    use_ai = "use_ai"
    view_ai_history = "view_ai_history"
    view_social_accounts = "view_social_accounts"
    connect_social_accounts = "connect_social_accounts"
    disconnect_social_accounts = "disconnect_social_accounts"
    view_analytics = "view_analytics"
    # --- on an organization ---
    view_organization = "view_organization"
    edit_organization = "edit_organization"
    delete_organization = "delete_organization"
    create_brands = "create_brands"
    invite_members = "invite_members"
    change_member_roles = "change_member_roles"
    remove_members = "remove_members"
    leave_organization = "leave_organization"
    view_plan = "view_plan"
    manage_billing = "manage_billing"


# The least role allowed for each action (today's behaviour, action by action).
ROLE_MATRIX: dict[Action, Role] = {
    Action.view_brand: Role.viewer,
    Action.edit_brand: Role.admin,
    Action.delete_brand: Role.admin,
    Action.view_posts: Role.viewer,
    Action.write_posts: Role.editor,
    Action.publish_posts: Role.editor,
    Action.view_media: Role.viewer,
    Action.upload_media: Role.editor,
    Action.delete_media: Role.editor,
    Action.use_ai: Role.editor,
    Action.view_ai_history: Role.viewer,
    Action.view_social_accounts: Role.viewer,
    Action.connect_social_accounts: Role.admin,
    Action.disconnect_social_accounts: Role.admin,
    Action.view_analytics: Role.viewer,
    Action.view_organization: Role.viewer,
    Action.edit_organization: Role.admin,
    Action.delete_organization: Role.owner,
    Action.create_brands: Role.admin,
    Action.invite_members: Role.admin,
    Action.change_member_roles: Role.admin,
    Action.remove_members: Role.admin,
    Action.leave_organization: Role.viewer,
    Action.view_plan: Role.viewer,
    Action.manage_billing: Role.owner,
}

# What each action covers, as the README says it.
ACTION_DESCRIPTIONS: dict[Action, str] = {
    Action.view_brand: "See the brand (its settings, tone of voice, audience)",
    Action.edit_brand: "Edit the brand",
    Action.delete_brand: "Delete the brand",
    Action.view_posts: "See the brand's posts (list, calendar, one post)",
    Action.write_posts: "Write posts: create drafts, edit, duplicate, cancel or delete",
    Action.publish_posts: "Schedule posts, publish now, retry failed targets",
    Action.view_media: "See the brand's media library (and validate a post with its media)",
    Action.upload_media: "Upload media or import it from a URL",
    Action.delete_media: "Delete media",
    Action.use_ai: "Generate and rewrite with AI (spends the payer's AI credits)",
    Action.view_ai_history: "See the brand's AI generations",
    Action.view_social_accounts: "See the brand's connected social accounts",
    Action.connect_social_accounts: "Connect or reconnect a social account",
    Action.disconnect_social_accounts: "Disconnect a social account",
    Action.view_analytics: "See the brand's and its posts' analytics",
    Action.view_organization: "See the organization, its members and its brands",
    Action.edit_organization: "Rename the organization",
    Action.delete_organization: "Delete the organization",
    Action.create_brands: "Create a brand in the organization",
    Action.invite_members: "Invite members (up to one's own role), list and revoke invitations",
    Action.change_member_roles: "Change a member's role (up to one's own role; never the owner's)",
    Action.remove_members: "Remove another member (never the owner)",
    Action.leave_organization: "Leave the organization (the owner cannot)",
    Action.view_plan: "See the organization's plan, limits and usage",
    Action.manage_billing: "Subscribe, change plan (billing portal), see invoices",
}

# The README's columns, lowest first.
ROLE_ORDER: tuple[Role, ...] = (Role.viewer, Role.editor, Role.admin, Role.owner)


def min_role(action: Action) -> Role:
    """The least role allowed to do `action`."""
    return ROLE_MATRIX[action]


def allows(role: Role, action: Action) -> bool:
    """May someone with `role` do `action`? The only place roles are compared for permission."""
    return role.at_least(ROLE_MATRIX[action])


def forbidden(action: Action, *, on: str = "brand") -> Forbidden:
    """The 403 for a role too low for `action`, worded for a brand's team or an organization."""
    where = "on the brand's team" if on == "brand" else "in the organization"
    return Forbidden(f"This needs the {min_role(action).value} role or higher {where}")


def ensure_allowed(
    role: Role, action: Action, *, on: str = "brand", message: str | None = None, code: str | None = None
) -> None:
    """Raises the 403 (`forbidden`, or the given message and code) unless `role` may do `action`."""
    if allows(role, action):
        return
    if message is None and code is None:
        raise forbidden(action, on=on)
    raise Forbidden(message or forbidden(action, on=on).message, code=code)


def roles_markdown() -> str:
    """The README's "Roles" table, rendered from `ROLE_MATRIX`."""
    head = "| Action | " + " | ".join(role.value for role in ROLE_ORDER) + " |"
    rule = "|---|" + "---|" * len(ROLE_ORDER)
    rows = [
        f"| `{action.value}`: {ACTION_DESCRIPTIONS[action]} | "
        + " | ".join("✓" if allows(role, action) else "–" for role in ROLE_ORDER)
        + " |"
        for action in Action
    ]
    return "\n".join([head, rule, *rows])
