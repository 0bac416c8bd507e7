import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, type Schemas } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { formatDateTime } from "../../lib/format";

type Notification = Schemas["NotificationOut"];

export function useNotifications(enabled: boolean) {
  return useQuery({
    queryKey: ["notifications"],
    queryFn: () => unwrap(api.GET("/api/v1/notifications", { params: { query: { limit: 50 } } })),
    enabled,
  });
}

function NotificationRow({ notification }: { notification: Notification }) {
  const queryClient = useQueryClient();
  const markRead = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/notifications/{notification_id}/read", { params: { path: { notification_id: notification.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["notifications"] }),
  });
  const unread = !notification.readAt;
  const postId = typeof notification.data.postId === "string" ? notification.data.postId : null;
  return (
    <li style={unread ? { background: "var(--brand-soft)" } : undefined}>
      <div style={{ minWidth: 0 }}>
        <div className="primary">
          {unread && <span className="visually-hidden">Unread: </span>}
          {postId ? (
            <Link to={`/posts/${postId}`} onClick={() => unread && markRead.mutate()}>
              {notification.title}
            </Link>
          ) : (
            notification.title
          )}
        </div>
        <p className="small muted preview-text">{notification.body}</p>
        <span className="small muted">{formatDateTime(notification.createdAt)}</span>
      </div>
      {unread && (
        <Button size="sm" busy={markRead.isPending} onClick={() => markRead.mutate()} aria-label={`Mark “${notification.title}” as read`}>
          Mark read
        </Button>
      )}
    </li>
  );
}

function NotificationList() {
  const queryClient = useQueryClient();
  const notifications = useNotifications(true);
  const readAll = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/notifications/read-all")),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["notifications"] }),
  });
  if (notifications.isPending) return <LoadingRows rows={3} label="Loading notifications" />;
  if (notifications.isError) return <ErrorState error={notifications.error} onRetry={() => void notifications.refetch()} />;
  const { data, unreadCount } = notifications.data;
  if (data.length === 0) {
    return (
      <EmptyState icon="◉" title="You are all caught up">
        T21 tells you here when a post is published or fails, when an account needs reconnecting, and about your plan.
      </EmptyState>
    );
  }
  return (
    <div className="stack">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <span className="muted">{unreadCount} unread</span>
        <Button size="sm" disabled={unreadCount === 0} busy={readAll.isPending} onClick={() => readAll.mutate()}>
          Mark all as read
        </Button>
      </div>
      <ul className="list" aria-label="Notifications">
        {data.map((notification) => (
          <NotificationRow key={notification.id} notification={notification} />
        ))}
      </ul>
    </div>
  );
}

export function NotificationsPage() {
  const capabilities = useCapabilities();
  const available = capabilities.data?.has("get", "/api/v1/notifications");
  return (
    <div className="page">
      <PageHeader title="Notifications" />
      {capabilities.isPending ? <LoadingRows rows={3} label="Loading" /> : available === false ? <NotAvailableYet feature="Notifications" /> : <NotificationList />}
    </div>
  );
}
