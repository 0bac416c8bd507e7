import { useContext, useEffect } from "react";
import { UNSAFE_DataRouterContext, useBlocker } from "react-router";
import { Button } from "../../components/Button";
import { Dialog } from "../../components/Dialog";

function BlockerPrompt({ when }: { when: boolean }) {
  // Moving within the same page (the composer's own ?brandId=) is not leaving.
  const blocker = useBlocker(({ currentLocation, nextLocation }) => when && currentLocation.pathname !== nextLocation.pathname);
  return (
    <Dialog open={blocker.state === "blocked"} title="Leave without saving?" onClose={() => blocker.reset?.()}>
      {blocker.state === "blocked" && (
        <div className="stack" data-testid="leave-dialog">
          <p>Your changes are not saved to T21 yet. A copy stays on this device and comes back when you open the composer again.</p>
          <div className="form-actions" style={{ justifyContent: "flex-end" }}>
            <Button variant="primary" onClick={() => blocker.reset()} autoFocus>
              Stay and save
            </Button>
            <Button onClick={() => blocker.proceed()}>Leave</Button>
          </div>
        </div>
      )}
    </Dialog>
  );
}

/**
 * Asks before leaving a page with unsaved changes: in-app navigation gets a dialog (react-router's
 * blocker, data routers only), closing or reloading the tab the browser's own prompt.
 */
export function LeaveGuard({ when }: { when: boolean }) {
  const dataRouter = useContext(UNSAFE_DataRouterContext) !== null;
  useEffect(() => {
    if (!when) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Chromium still wants returnValue set to show the prompt.
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [when]);
  return dataRouter ? <BlockerPrompt when={when} /> : null;
}
