import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonResponse, renderWithApp } from "../../test/render";
import { LoginPage } from "./LoginPage";

afterEach(() => vi.unstubAllGlobals());

async function signInWithPassword() {
  const user = userEvent.setup();
  renderWithApp(<LoginPage />, "/login");
  await user.type(screen.getByLabelText("Email"), "ada@example.com");
  await user.type(screen.getByLabelText("Password"), "correct horse battery");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  return user;
}

describe("LoginPage with two-factor", () => {
  it("asks for the code after the password and sends it with the challenge", async () => {
    const fetch = vi.fn(async (request: Request) =>
      new URL(request.url).pathname === "/api/v1/auth/login"
        ? jsonResponse(200, { twoFactorRequired: true, challenge: "the-challenge", expiresIn: 300 })
        : jsonResponse(401, { error: "That code is not valid.", code: "invalid_two_factor_code", details: null }),
    );
    vi.stubGlobal("fetch", fetch);
    const user = await signInWithPassword();

    expect(await screen.findByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
    await user.type(screen.getByLabelText("6-digit code"), "123 456");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That code is not valid.");
    const [request] = fetch.mock.calls[1] as unknown as [Request];
    expect(new URL(request.url).pathname).toBe("/api/v1/auth/login/2fa");
    expect(await request.json()).toEqual({ challenge: "the-challenge", code: "123456" });

    // A recovery code instead.
    await user.click(screen.getByRole("button", { name: /Use a recovery code/ }));
    await user.type(screen.getByLabelText("Recovery code"), "abcde-fghjk");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(3));
    const [second] = fetch.mock.calls[2] as unknown as [Request];
    expect(await second.json()).toEqual({ challenge: "the-challenge", recoveryCode: "abcde-fghjk" });
  });

  it("goes back to the password when the challenge expired", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) =>
        new URL(request.url).pathname === "/api/v1/auth/login"
          ? jsonResponse(200, { twoFactorRequired: true, challenge: "old", expiresIn: 300 })
          : jsonResponse(401, { error: "expired", code: "invalid_two_factor_challenge", details: null }),
      ),
    );
    const user = await signInWithPassword();
    await user.type(await screen.findByLabelText("6-digit code"), "123456");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByText("That sign-in attempt expired. Enter your password again.")).toBeVisible();
    expect(screen.getByLabelText("Password")).toHaveValue("");
  });
});
