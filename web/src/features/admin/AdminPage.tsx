import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useState } from "react";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useUser } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { formatDate, formatDateTime } from "../../lib/format";

type AdminUser = Schemas["AdminUserOut"];

const PAGE = 50;

function useAdminUsers(search: string) {
  return useInfiniteQuery({
    queryKey: ["admin-users", search],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/admin/users", { params: { query: { limit: PAGE, ...(search ? { search } : {}), ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

function UserRow({ person }: { person: AdminUser }) {
  const me = useUser();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { confirm, dialog } = useConfirm();
  const path = { user_id: person.id };
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["admin-users"] });
  const disable = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/admin/users/{user_id}/disable", { params: { path } })),
    onSuccess: async (updated) => {
      await refresh();
      toast.show(`${updated.email} is disabled`, "success");
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const enable = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/admin/users/{user_id}/enable", { params: { path } })),
    onSuccess: async (updated) => {
      await refresh();
      toast.show(`${updated.email} can sign in again`, "success");
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const resend = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/admin/users/{user_id}/resend-verification", { params: { path } })),
    onSuccess: () => toast.show(`A new verification link is on its way to ${person.email}`, "success"),
    onError: (error) => toast.show(error.message, "error"),
  });
  const askDisable = async () => {
    const ok = await confirm({
      title: `Disable ${person.email}?`,
      body: `${person.name} is signed out everywhere at once and cannot sign in; their API keys stop working. Nothing is deleted: their brands, posts and keys come back when you enable them again.`,
      confirmLabel: "Disable user",
    });
    if (ok) disable.mutate();
  };
  const usage = person.usage;
  const isMe = person.id === me.id;
  return (
    <tr data-testid="admin-user-row">
      <td>
        {dialog}
        <div className="primary">
          {person.name} {isMe && <span className="muted">(you)</span>}
        </div>
        <div className="small muted">{person.email}</div>
        <div className="row" style={{ gap: "var(--space-1)", marginTop: "var(--space-1)" }}>
          {person.isAdmin && <span className="badge badge-info badge-plain">Admin</span>}
          {person.disabled ? <span className="badge badge-danger">Disabled</span> : null}
          {!person.emailVerified && <span className="badge badge-warning badge-plain">Unverified</span>}
        </div>
      </td>
      <td style={{ whiteSpace: "nowrap" }}>{formatDate(person.createdAt)}</td>
      <td>{usage.lastLoginAt ? formatDateTime(usage.lastLoginAt) : <span className="muted">Never</span>}</td>
      <td>{usage.brands}</td>
      <td>{usage.socialAccounts}</td>
      <td>{usage.postsThisMonth}</td>
      <td>{usage.aiCreditsUsed}</td>
      <td>
        <div className="stack" style={{ justifyItems: "end", gap: "var(--space-2)" }}>
          {!person.emailVerified && (
            <Button size="sm" busy={resend.isPending} onClick={() => resend.mutate()} aria-label={`Resend verification to ${person.email}`}>
              Resend verification
            </Button>
          )}
          {person.disabled ? (
            <Button size="sm" busy={enable.isPending} onClick={() => enable.mutate()} aria-label={`Enable ${person.email}`}>
              Enable
            </Button>
          ) : (
            !isMe && (
              <Button size="sm" variant="danger" busy={disable.isPending} onClick={() => void askDisable()} aria-label={`Disable ${person.email}`}>
                Disable
              </Button>
            )
          )}
        </div>
      </td>
    </tr>
  );
}

/** The instance admin's page: everyone on this T21 install, their usage, and disable / enable. */
export function AdminPage() {
  const user = useUser();
  const [search, setSearch] = useState("");
  const deferred = useDeferredValue(search.trim());
  const users = useAdminUsers(deferred);
  if (!user.isAdmin) {
    return (
      <div className="page">
        <PageHeader title="Admin" />
        <EmptyState icon="⚑" title="For instance admins only">
          Whoever runs this T21 install can make you an admin with <code>t21 make-admin {user.email}</code>.
        </EmptyState>
      </div>
    );
  }
  const rows = users.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <div className="page">
      <PageHeader title="Admin" description="Everyone on this T21 instance, what they use (posts and AI credits: this month) and who may sign in." />
      <section className="card stack" aria-labelledby="admin-users-title">
        <div className="card-header" style={{ marginBottom: 0 }}>
          <h2 id="admin-users-title">Users</h2>
          <div style={{ minWidth: 240 }}>
            <label className="visually-hidden" htmlFor="admin-search">
              Search users by email or name
            </label>
            <input id="admin-search" className="input" type="search" placeholder="Search by email or name" value={search} onChange={(e) => setSearch(e.target.value)} />
          </div>
        </div>
        {users.isPending && <LoadingRows rows={3} label="Loading users" />}
        {users.isError && <ErrorState error={users.error} onRetry={() => void users.refetch()} />}
        {users.data && rows.length === 0 && <p className="muted">No user matches “{deferred}”.</p>}
        {rows.length > 0 && (
          <div className="table-wrap">
            <table className="table" aria-label="Users">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">Brands</th>
                  <th scope="col">Accounts</th>
                  <th scope="col">Posts</th>
                  <th scope="col">AI credits</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((person) => (
                  <UserRow key={person.id} person={person} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {users.hasNextPage && (
          <div>
            <Button busy={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()}>
              Load more
            </Button>
          </div>
        )}
      </section>
    </div>
  );
}
