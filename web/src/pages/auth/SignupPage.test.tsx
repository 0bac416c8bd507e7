import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonResponse, renderWithApp } from "../../test/render";
import { SignupPage } from "./SignupPage";

afterEach(() => vi.unstubAllGlobals());

describe("SignupPage", () => {
  it("shows the server's 422 field errors next to their fields", async () => {
    const fetch = vi.fn(async () =>
      jsonResponse(422, {
        error: "The request is not valid",
        code: "validation_error",
        details: [
          { field: "body.password", message: "Value error, Password must be at least 8 characters", type: "value_error" },
          { field: "body.email", message: "value is not a valid email address", type: "value_error" },
        ],
      }),
    );
    vi.stubGlobal("fetch", fetch);
    const user = userEvent.setup();
    renderWithApp(<SignupPage />, "/signup");

    await user.type(screen.getByLabelText("Your name"), "Ada");
    await user.type(screen.getByLabelText("Email"), "ada@");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const password = screen.getByLabelText("Password");
    expect(await screen.findByText("Password must be at least 8 characters")).toBeVisible();
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(password).toHaveAccessibleDescription(/At least 8 characters\. Password must be at least 8 characters/);
    expect(screen.getByLabelText("Email")).toHaveAccessibleDescription("value is not a valid email address");
    expect(screen.getByLabelText("Your name")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByRole("alert")).toHaveTextContent("Please correct the highlighted fields.");

    const [request] = fetch.mock.calls[0] as unknown as [Request];
    expect(new URL(request.url).pathname).toBe("/api/v1/auth/register");
  });

  it("shows a non-field error (409) as a sentence", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => jsonResponse(409, { error: "An account with this email already exists", code: "email_taken", details: null })));
    const user = userEvent.setup();
    renderWithApp(<SignupPage />, "/signup");
    await user.type(screen.getByLabelText("Your name"), "Ada");
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "long enough password");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("An account with this email already exists");
  });
});
