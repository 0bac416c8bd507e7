import { useCallback, useRef, useState, type ReactNode } from "react";
import { Button } from "./Button";
import { Dialog } from "./Dialog";

export interface ConfirmOptions {
  title: string;
  /** What will happen, in plain words: what is lost and what is not. */
  body: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  /** Red confirm button (the default): the action destroys something. */
  danger?: boolean;
}

/**
 * Asks before a destructive action. `confirm(options)` opens the dialog and resolves true when
 * the user confirms, false when they cancel or press Escape; render `dialog` once in the page.
 *
 *   const { confirm, dialog } = useConfirm();
 *   if (await confirm({ title: "Cancel this post?", body: "…", confirmLabel: "Cancel post" })) cancel.mutate();
 */
export function useConfirm() {
  const [options, setOptions] = useState<ConfirmOptions | null>(null);
  const resolver = useRef<((ok: boolean) => void) | null>(null);

  const confirm = useCallback((next: ConfirmOptions) => {
    resolver.current?.(false);
    setOptions(next);
    return new Promise<boolean>((resolve) => {
      resolver.current = resolve;
    });
  }, []);

  const close = (ok: boolean) => {
    resolver.current?.(ok);
    resolver.current = null;
    setOptions(null);
  };

  const dialog = (
    <Dialog open={options !== null} title={options?.title ?? ""} onClose={() => close(false)}>
      {options && (
        <div className="stack" data-testid="confirm-dialog">
          <div>{options.body}</div>
          <div className="form-actions" style={{ justifyContent: "flex-end" }}>
            <Button onClick={() => close(false)} autoFocus>
              {options.cancelLabel ?? "Keep it"}
            </Button>
            <Button variant={options.danger === false ? "primary" : "danger"} onClick={() => close(true)}>
              {options.confirmLabel}
            </Button>
          </div>
        </div>
      )}
    </Dialog>
  );
  return { confirm, dialog };
}
