import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useReducer, useState } from "react";
import { describe, expect, it } from "vitest";
import { ComposerEditor, type EditorTab } from "./ComposerEditor";
import { composerReducer, emptyComposer, type ComposerState } from "./composerState";

function Harness({ initial }: { initial: Partial<ComposerState> }) {
  const [state, dispatch] = useReducer(composerReducer, { ...emptyComposer, ...initial });
  const [tab, setTab] = useState<EditorTab>("all");
  return <ComposerEditor state={state} dispatch={dispatch} tab={tab} onTab={setTab} serverIssues={{}} />;
}

describe("ComposerEditor counters", () => {
  it("counts live per network with the server's rules", async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ networks: ["x", "instagram", "linkedin"] }} />);
    // 6 ASCII + space + a ZWJ family (one emoji = 2 on X) + space + a URL (23 on X).
    await user.type(screen.getByLabelText("Post text"), "Hello 👨‍👩‍👧 https://example.com/a/long/path");
    expect(screen.getByTestId("counter-x")).toHaveTextContent("32/280 characters");
    // Instagram and LinkedIn count code points: the family is 5, the URL 31.
    expect(screen.getByTestId("counter-linkedin")).toHaveTextContent(`${6 + 5 + 1 + 31}/3000 characters`);
    expect(within(screen.getByTestId("counter-instagram")).getByText(/hashtags/)).toHaveTextContent("0/30 hashtags");
  });

  it("marks a network that is over its limit", () => {
    render(<Harness initial={{ networks: ["x", "linkedin"], text: "字".repeat(141) }} />);
    const x = screen.getByTestId("counter-x");
    expect(x).toHaveTextContent("282/280 characters");
    expect(x.querySelector(".counter")).toHaveClass("over");
    expect(x).toHaveTextContent("over the limit");
    expect(screen.getByTestId("counter-linkedin").querySelector(".counter")).not.toHaveClass("over");
  });

  it("lets one network have its own text and keeps the others on the shared text", async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ networks: ["x", "linkedin"], text: "Shared" }} />);
    await user.click(screen.getByRole("tab", { name: "X" }));
    await user.click(screen.getByLabelText("Write different text for X"));
    const custom = screen.getByLabelText("Text for X");
    await user.clear(custom);
    await user.type(custom, "Short for X");
    expect(screen.getByTestId("counter-x")).toHaveTextContent("11/280 characters");
    await user.click(screen.getByRole("tab", { name: "All networks" }));
    expect(screen.getByTestId("counter-linkedin")).toHaveTextContent("6/3000 characters");
  });

  it("moves between tabs with the arrow keys", async () => {
    const user = userEvent.setup();
    render(<Harness initial={{ networks: ["x", "linkedin"] }} />);
    screen.getByRole("tab", { name: "All networks" }).focus();
    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "X" })).toHaveFocus();
    expect(screen.getByRole("tab", { name: "X" })).toHaveAttribute("aria-selected", "true");
  });
});
