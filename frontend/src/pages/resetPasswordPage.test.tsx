import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { cart, FakeSocket, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";

const base = { "GET /api/ecommerce/cart/sess_test": cart() };

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.clear();
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("a forgotten password", () => {
  it("is reached from the sign-in form and asks for a link by e-mail", async () => {
    const { calls } = stubFetch({ ...base, "POST /api/ecommerce/auth/password-reset": () => new Response(null, { status: 202 }) });
    renderApp("/account");
    await userEvent.click(await screen.findByRole("link", { name: "Forgot your password?" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Forgot your password?" })).toBeInTheDocument();
    const form = screen.getByRole("form", { name: "Ask for a link" });
    await userEvent.type(within(form).getByLabelText("Email"), " ada@example.com ");
    await userEvent.click(within(form).getByRole("button", { name: "Send the link" }));
    expect(await screen.findByText(/^If ada@example.com has an account/)).toHaveTextContent("If ada@example.com has an account, a link to set a new password is on its way there.");
    expect(calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([{ email: "ada@example.com" }]);
  });

  it("sets the new password the link allows, then offers to sign in with it", async () => {
    const { calls } = stubFetch({ ...base, "POST /api/ecommerce/auth/password-reset/confirm": () => new Response(null, { status: 204 }) });
    renderApp("/reset-password?token=tok_reset");
    const form = await screen.findByRole("form", { name: "Set a new password" });
    await userEvent.type(within(form).getByLabelText(/^New password \(/), "second-password");
    await userEvent.type(within(form).getByLabelText(/^New password again/), "second-password");
    await userEvent.click(within(form).getByRole("button", { name: "Set the new password" }));
    expect(await screen.findByText("Your new password is set. Sign in with it.")).toHaveAttribute("role", "status");
    expect(screen.getByRole("form", { name: "Sign in" })).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([{ token: "tok_reset", newPassword: "second-password" }]);
  });

  it("says a used or old link is no longer valid, and offers a new one", async () => {
    const used = { error: "invalid_token", message: "this link to set a new password is no longer valid (used, or older than 30 minutes): ask for a new one", details: [{ field: "token", message: "invalid" }] };
    stubFetch({ ...base, "POST /api/ecommerce/auth/password-reset/confirm": () => new Response(JSON.stringify(used), { status: 400 }) });
    renderApp("/reset-password?token=tok_used");
    const form = await screen.findByRole("form", { name: "Set a new password" });
    await userEvent.type(within(form).getByLabelText(/^New password \(/), "second-password");
    await userEvent.type(within(form).getByLabelText(/^New password again/), "second-password");
    await userEvent.click(within(form).getByRole("button", { name: "Set the new password" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent(used.message);
    await userEvent.click(within(form).getByRole("link", { name: "Ask for a new link" }));
    expect(await screen.findByRole("form", { name: "Ask for a link" })).toBeInTheDocument();
  });
});
