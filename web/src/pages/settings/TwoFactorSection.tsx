import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";

const statusKey = ["me", "2fa"] as const;

/** The otpauth:// URI drawn as a QR code, in the browser (the secret never leaves the page). */
function QrCode({ uri }: { uri: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    // Loaded on demand: only this step needs the encoder.
    void import("qrcode").then((qr) =>
      qr.toDataURL(uri, { margin: 1, width: 200, errorCorrectionLevel: "M" }).then((url) => {
        if (live) setSrc(url);
      }),
    );
    return () => {
      live = false;
    };
  }, [uri]);
  return src ? (
    <img src={src} width={200} height={200} alt="QR code to scan with your authenticator app" data-testid="two-factor-qr" />
  ) : (
    <div style={{ width: 200, height: 200 }} aria-busy="true" />
  );
}

/** The ten recovery codes, shown once, with copy and download. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone(): void }) {
  const toast = useToast();
  const text = `T21 recovery codes (each works once)\n\n${codes.join("\n")}\n`;
  const copy = async () => {
    await navigator.clipboard?.writeText(text);
    toast.show("Recovery codes copied", "success");
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "t21-recovery-codes.txt";
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <div className="alert alert-success stack" role="status" style={{ gap: 8 }}>
      <strong>Save these recovery codes now — they will not be shown again.</strong>
      <span className="small">If you lose your phone, sign in with one of them instead of a code. Each works once.</span>
      <ul className="mono" data-testid="recovery-codes" style={{ columns: 2, margin: 0, paddingLeft: 20 }}>
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="row">
        <Button size="sm" onClick={() => void copy()}>
          Copy codes
        </Button>
        <Button size="sm" onClick={download}>
          Download
        </Button>
        <Button size="sm" variant="ghost" onClick={onDone}>
          I saved them
        </Button>
      </div>
    </div>
  );
}

function EnableFlow({ onEnabled }: { onEnabled(codes: string[]): void }) {
  const [setup, setSetup] = useState<Schemas["TwoFactorSetupOut"] | null>(null);
  const [code, setCode] = useState("");
  const start = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/me/2fa/setup")),
    onSuccess: (result) => setSetup(result),
  });
  const enable = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/me/2fa/enable", { body: { code: code.trim() } })),
    onSuccess: (result) => {
      setSetup(null);
      setCode("");
      onEnabled(result.recoveryCodes);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    enable.mutate();
  };
  if (!setup) {
    return (
      <div className="stack" style={{ gap: 8 }}>
        <FormError error={start.error} />
        <div className="form-actions" style={{ justifyContent: "flex-start" }}>
          <Button variant="primary" busy={start.isPending} onClick={() => start.mutate()}>
            Turn on two-factor
          </Button>
        </div>
      </div>
    );
  }
  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Turn on two-factor">
      <p className="small" style={{ margin: 0 }}>
        1. Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy, …).
      </p>
      <QrCode uri={setup.otpauthUri} />
      <p className="small muted" style={{ margin: 0 }}>
        Cannot scan it? Enter this key by hand: <code className="mono" data-testid="two-factor-secret">{setup.secret}</code>
      </p>
      <FormError error={enable.error} fields={["code"]} />
      <TextField label="2. Enter the 6-digit code the app shows" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} value={code} onChange={(e) => setCode(e.target.value)} error={fieldError(enable.error, "code")} required style={{ maxWidth: 200 }} />
      <div className="form-actions" style={{ justifyContent: "flex-start" }}>
        <Button type="submit" variant="primary" busy={enable.isPending}>
          Confirm and turn on
        </Button>
        <Button variant="ghost" onClick={() => setSetup(null)}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

function ManageFlow({ left, onCodes, onDisabled }: { left: number; onCodes(codes: string[]): void; onDisabled(): void }) {
  const [mode, setMode] = useState<"idle" | "codes" | "disable">("idle");
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const reset = () => {
    setMode("idle");
    setCode("");
    setPassword("");
  };
  const renew = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/me/2fa/recovery-codes", { body: { code: code.trim() } })),
    onSuccess: (result) => {
      reset();
      onCodes(result.recoveryCodes);
    },
  });
  const disable = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/me/2fa/disable", { body: { password, code: code.trim() } })),
    onSuccess: () => {
      reset();
      onDisabled();
    },
  });
  const action = mode === "codes" ? renew : disable;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    action.mutate();
  };
  return (
    <div className="stack" style={{ gap: 8 }}>
      <p style={{ margin: 0 }}>
        <span className="badge badge-success">On</span> Signing in asks for a code from your authenticator app.{" "}
        <span className="muted small">{left} recovery codes left.</span>
      </p>
      {mode === "idle" ? (
        <div className="row">
          <Button size="sm" onClick={() => setMode("codes")}>
            New recovery codes
          </Button>
          <Button size="sm" variant="danger" onClick={() => setMode("disable")}>
            Turn off
          </Button>
        </div>
      ) : (
        <form className="form" onSubmit={submit} noValidate aria-label={mode === "codes" ? "New recovery codes" : "Turn off two-factor"}>
          <FormError error={action.error} fields={["code", "password"]} />
          <div className="form-row">
            {mode === "disable" && (
              <TextField label="Password" type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(disable.error, "password")} required />
            )}
            <TextField label="Code from your app" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} value={code} onChange={(e) => setCode(e.target.value)} error={fieldError(action.error, "code")} required />
          </div>
          <div className="form-actions" style={{ justifyContent: "flex-start" }}>
            <Button type="submit" variant={mode === "codes" ? "primary" : "danger"} busy={action.isPending}>
              {mode === "codes" ? "Replace my recovery codes" : "Turn off two-factor"}
            </Button>
            <Button variant="ghost" onClick={reset}>
              Cancel
            </Button>
          </div>
        </form>
      )}
    </div>
  );
}

export function TwoFactorSection() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [codes, setCodes] = useState<string[] | null>(null);
  const status = useQuery({ queryKey: statusKey, queryFn: () => unwrap(api.GET("/api/v1/me/2fa")) });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: statusKey });
  return (
    <section className="card stack" aria-labelledby="two-factor-title">
      <div>
        <h2 id="two-factor-title">Two-factor authentication</h2>
        <p className="muted small">A code from an app on your phone at every sign-in, so a stolen password is not enough.</p>
      </div>
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      {status.isPending && <LoadingRows rows={1} label="Loading two-factor status" />}
      {status.isError && <ErrorState error={status.error} onRetry={() => void status.refetch()} />}
      {status.data &&
        (status.data.enabled ? (
          <ManageFlow
            left={status.data.recoveryCodesLeft}
            onCodes={(fresh) => {
              setCodes(fresh);
              refresh();
            }}
            onDisabled={() => {
              setCodes(null);
              toast.show("Two-factor authentication is off", "success");
              refresh();
            }}
          />
        ) : (
          <EnableFlow
            onEnabled={(fresh) => {
              setCodes(fresh);
              toast.show("Two-factor authentication is on", "success");
              refresh();
            }}
          />
        ))}
    </section>
  );
}
