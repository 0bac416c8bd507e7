import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { session } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { useToast } from "../../components/Toasts";
import { LiveSocket, liveSocketUrl, parsePostEvent } from "./liveSocket";

/**
 * Keeps post lists, the calendar and notifications current while the app is open, and says
 * "Post published!" when one goes out. Renders nothing.
 */
export function LiveUpdates() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const capabilities = useCapabilities();
  // The socket carries post events; without the posts API there is nothing to listen to.
  const enabled = capabilities.data?.has("get", "/api/v1/posts") ?? false;

  useEffect(() => {
    if (!enabled) return;
    const live = new LiveSocket({
      url: liveSocketUrl(),
      getToken: async (forceRefresh) => {
        if (!session.hasSession) return null;
        if (forceRefresh || session.currentAccessToken === null) return session.refresh();
        return session.currentAccessToken;
      },
      onEvent: (event) => {
        const post = parsePostEvent(event);
        if (post) {
          void queryClient.invalidateQueries({ queryKey: ["posts"] });
          void queryClient.invalidateQueries({ queryKey: ["post", post.postId] });
          if (post.type === "post.published") toast.show("Post published!", "success");
          if (post.type === "post.failed") {
            toast.show(`A post failed to publish${post.target?.error ? `: ${post.target.error}` : "."}`, "error");
          }
        }
        void queryClient.invalidateQueries({ queryKey: ["notifications"] });
      },
    });
    live.start();
    return () => live.stop();
  }, [enabled, queryClient, toast]);

  return null;
}
