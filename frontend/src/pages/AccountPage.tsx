/** The signed-in person's account: name, e-mail, role, their orders and wishlist, changing the
 * password, signing out; a sign-in form otherwise. */
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Field, INPUT, NewPasswordFields, passwordsDiffer, problemOfCommand, type Problem } from "../components/FormFields";
import { Link } from "react-router-dom";
import { PASSWORD_MIN_LENGTH, SignInForm } from "../components/SignIn";
import { ErrorState, Loading } from "../components/States";
import { usePageTitle } from "../components/page";
import { api } from "../lib/api";
import { formatMoment } from "../lib/format";
import { meQuery } from "../state/queries";
import { useCommand } from "../state/useCommand";
import { useIdentity, useShop } from "../state/shop";

function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [differ, setDiffer] = useState<Problem | null>(null);
  const [done, setDone] = useState(false);
  const change = useCommand((asked: { current: string; next: string }) => api.changePassword(asked.current, asked.next), {
    onSuccess: () => {
      setDone(true);
      setCurrent("");
      setNext("");
      setAgain("");
    },
  });
  const problem = differ ?? problemOfCommand(change);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    setDone(false);
    setDiffer(passwordsDiffer(next, again));
    if (next === again) change.run({ current, next });
  };
  return (
    <form onSubmit={submit} aria-label="Change password" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Change password</h2>
      <Field label="Current password" name="currentPassword" problem={problem}><input type="password" autoComplete="current-password" required className={INPUT} value={current} onChange={(e) => setCurrent(e.target.value)} /></Field>
      <NewPasswordFields next={next} again={again} onNext={setNext} onAgain={setAgain} problem={problem} minLength={PASSWORD_MIN_LENGTH} />
      {problem && !["currentPassword", "newPassword", "newPasswordAgain"].includes(problem.field ?? "") ? <p role="alert" className="text-sm text-red-700">{problem.message}</p> : null}
      {done ? <p role="status" className="text-sm text-emerald-700">Your password is changed.</p> : null}
      <button type="submit" disabled={change.busy} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2">Change password</button>
    </form>
  );
}

export function AccountPage() {
  const { userId, isOperator } = useIdentity();
  const { signOut } = useShop();
  const me = useQuery({ ...meQuery(userId ?? ""), enabled: userId !== null });
  usePageTitle("Your account");
  if (!userId) {
    return (
      <div className="mx-auto max-w-sm">
        <h1 className="mb-2 text-2xl font-bold">Your account</h1>
        <p className="mb-4 text-slate-600">Sign in to see your account.</p>
        <div className="rounded-lg border border-slate-200 bg-white p-4"><SignInForm idPrefix="account-signin" /></div>
      </div>
    );
  }
  return (
    <div className="mx-auto max-w-lg space-y-4">
      <h1 className="text-2xl font-bold">Your account</h1>
      {me.error ? <ErrorState error={me.error} onRetry={() => void me.refetch()} /> : !me.data ? <Loading label="Loading your account…" /> : (
        <dl className="grid grid-cols-[8rem_1fr] gap-y-2 rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="account-details">
          <dt className="text-slate-500">Name</dt><dd data-testid="account-name">{me.data.name ?? "—"}</dd>
          <dt className="text-slate-500">E-mail</dt><dd>{me.data.email ?? "—"}</dd>
          <dt className="text-slate-500">Role</dt><dd>{me.data.role === "operator" ? "Operator" : "Shopper"}</dd>
          <dt className="text-slate-500">Signed in until</dt><dd>{formatMoment(me.data.expiresAt)}</dd>
        </dl>
      )}
      <ul className="flex flex-wrap gap-3 text-sm">
        <li><Link to="/orders" className="text-indigo-700 underline">Your orders</Link></li>
        <li><Link to="/wishlist" className="text-indigo-700 underline">Your wishlist</Link></li>
        {isOperator ? <li><Link to="/ops/products" className="text-indigo-700 underline">Operator console</Link></li> : null}
      </ul>
      <ChangePassword />
      <button type="button" onClick={signOut} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2">Sign out</button>
    </div>
  );
}
