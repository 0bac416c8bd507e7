from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, WebSocket

from t21.auth.dependencies import Principal, scoped
from t21.auth.scopes import Scope
from t21.kit.deps import SessionDep
from t21.kit.routing import make_router
from t21.notifications.inbox import InboxService
from t21.notifications.schemas import NotificationList, NotificationOut, ReadAllOut
from t21.notifications.socket import serve_socket

router = make_router(prefix="/notifications", tags=["notifications"])
# WebSockets are not transactional routes: each auth check opens its own short transaction.
live_router = APIRouter(tags=["notifications"])


@router.get("", response_model=NotificationList)
async def list_notifications(
    session: SessionDep,
    unread_only: bool = Query(default=False, alias="unreadOnly"),
    cursor: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=100),
    principal: Principal = Depends(scoped(Scope.notifications_read)),
) -> NotificationList:
    return await InboxService(session).page(
        principal.user.id, unread_only=unread_only, cursor=cursor, limit=limit
    )


# Marking read changes only the caller's own inbox state, so the read scope is enough.
@router.post("/read-all", response_model=ReadAllOut)
async def mark_all_read(
    session: SessionDep,
    principal: Principal = Depends(scoped(Scope.notifications_read)),
) -> ReadAllOut:
    return await InboxService(session).mark_all_read(principal.user.id)


@router.post("/{notification_id}/read", response_model=NotificationOut)
async def mark_read(
    notification_id: uuid.UUID,
    session: SessionDep,
    principal: Principal = Depends(scoped(Scope.notifications_read)),
) -> NotificationOut:
    return await InboxService(session).mark_read(principal.user.id, notification_id)


@live_router.websocket("/ws")
async def live_socket(websocket: WebSocket, token: str | None = Query(default=None)) -> None:
    await serve_socket(websocket, token)
