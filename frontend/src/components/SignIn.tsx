/** Sign-in (or a new account) with email and password; the session's cart is merged into the user's. */
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { meQuery } from "../state/queries";
import { useIdentity, useShop } from "../state/shop";
import { useCommand } from "../state/useCommand";
import { Dialog } from "./Dialog";

/** The shortest password the server takes (`RegisterBody`, `PasswordBody`; checked against the
 * OpenAPI schema by `generated.test.ts`), asked for in the form before a round trip. */
export const PASSWORD_MIN_LENGTH = 8;

export const DEMO_HINT = "Demo: shopper@kartshoppe.dev / shopper-demo-pass, operator@kartshoppe.dev / operator-demo-pass";

export function SignInForm({ idPrefix, onDone }: { idPrefix: string; onDone?: () => void }) {
  const { signIn } = useShop();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const { run, busy, error } = useCommand(signIn, { fallbackError: "Signing in did not work. Please try again." });

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const how = mode === "login" ? { mode, email: email.trim(), password } : { mode, email: email.trim(), password, name: name.trim() || "Shopper" };
    run(how, {
      onSuccess: () => {
        setPassword("");
        onDone?.();
      },
    });
  };

  const field = "w-full rounded border border-slate-300 px-2 py-1";
  return (
    <form onSubmit={submit} className="flex flex-col gap-2 text-sm" aria-label={mode === "login" ? "Sign in" : "Create account"}>
      <div>
        <label htmlFor={`${idPrefix}-email`} className="block font-medium">Email</label>
        <input id={`${idPrefix}-email`} type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} className={field} />
      </div>
      <div>
        <label htmlFor={`${idPrefix}-password`} className="block font-medium">Password</label>
        <input id={`${idPrefix}-password`} type="password" required minLength={mode === "register" ? PASSWORD_MIN_LENGTH : 1} autoComplete={mode === "login" ? "current-password" : "new-password"} value={password} onChange={(e) => setPassword(e.target.value)} className={field} />
      </div>
      {mode === "register" ? (
        <div>
          <label htmlFor={`${idPrefix}-name`} className="block font-medium">Name</label>
          <input id={`${idPrefix}-name`} autoComplete="name" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} className={field} />
        </div>
      ) : null}
      {error ? <p role="alert" className="text-red-700">{error}</p> : null}
      <button type="submit" disabled={busy} className="rounded bg-slate-800 px-3 py-1.5 text-white hover:bg-slate-700 focus-visible:outline-2 disabled:bg-slate-400">
        {mode === "login" ? "Sign in" : "Create account"}
      </button>
      <button type="button" onClick={() => setMode(mode === "login" ? "register" : "login")} className="text-indigo-700 underline focus-visible:outline-2">
        {mode === "login" ? "New here? Create an account" : "Have an account? Sign in"}
      </button>
      {mode === "login" ? <Link to="/reset-password" onClick={onDone} className="flex min-h-11 items-center justify-center text-indigo-700 underline focus-visible:outline-2 md:min-h-0">Forgot your password?</Link> : null}
      <p className="text-xs text-slate-500">{DEMO_HINT}</p>
    </form>
  );
}

/** The header's account control: a menu with the sign-in form, or the user and a sign-out button. */
export function AccountMenu() {
  const { signOut } = useShop();
  const { userId, auth } = useIdentity();
  // the person's name for the header (the token carries only the id and role)
  const me = useQuery({ ...meQuery(userId ?? ""), enabled: userId !== null });
  const [open, setOpen] = useState(false);

  if (userId) {
    return (
      <div className="flex items-center gap-2 text-sm">
        <Link to="/account" className="flex min-h-11 max-w-[5.5rem] items-center rounded px-1 hover:bg-slate-100 focus-visible:outline-2 sm:max-w-[9rem] md:min-h-0" data-testid="signed-in-as" title="Your account">
          <span className="truncate">{me.data?.name ?? (auth?.role === "operator" ? "Operator" : "Signed in")}</span>
        </Link>
        {/* on a phone, on the account page (the name links there): the header keeps to one row */}
        <button type="button" onClick={signOut} className="hidden rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 focus-visible:outline-2 sm:block">
          Sign out
        </button>
      </div>
    );
  }
  return (
    <div className="relative">
      <button type="button" aria-expanded={open} aria-controls="account-panel" onClick={() => setOpen((o) => !o)} className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2">
        Sign in
      </button>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        labelledBy="account-title"
        id="account-panel"
        frameClassName="fixed inset-0 z-40"
        className="absolute inset-x-3 top-16 rounded-lg border border-slate-200 bg-white p-3 shadow-lg sm:left-auto sm:right-4 sm:w-72"
      >
        <h2 id="account-title" className="mb-2 font-semibold">Your account</h2>
        <SignInForm idPrefix="header-signin" onDone={() => setOpen(false)} />
        {/* last in the tab order, so the dialog opens on the e-mail field */}
        <button type="button" onClick={() => setOpen(false)} className="absolute right-1 top-1 rounded px-2 py-1 hover:bg-slate-100 focus-visible:outline-2" aria-label="Close">
          ✕
        </button>
      </Dialog>
    </div>
  );
}
