import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { session } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { useToast } from "../../components/Toasts";
import { LiveSocket, liveSocketUrl, parsePostEvent } from "./liveSocket";
import { outcomeToast } from "./outcomeToast";

/**
 * Keeps post lists, the calendar and notifications current while the app is open, and says what
 * became of a post when it went out: published, partly published or failed (outcomeToast).
 * Renders nothing.
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
          const outcome = outcomeToast(post);
          if (outcome) toast.show(outcome.message, outcome.kind);
        }
        void queryClient.invalidateQueries({ queryKey: ["notifications"] });
      },
    });
    live.start();
    return () => live.stop();
  }, [enabled, queryClient, toast]);

  return null;
}
