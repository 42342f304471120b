/** The signed-in person's account: name, e-mail, role, their orders and wishlist, signing out; a sign-in form otherwise. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { SignInForm } from "../components/SignIn";
import { ErrorState, Loading } from "../components/States";
import { usePageTitle } from "../components/page";
import { meQuery } from "../state/queries";
import { useIdentity, useShop } from "../state/shop";

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
          <dt className="text-slate-500">Signed in until</dt><dd>{new Date(me.data.expiresAt).toLocaleString()}</dd>
        </dl>
      )}
      <ul className="flex flex-wrap gap-3 text-sm">
        <li><Link to="/orders" className="text-indigo-700 underline">Your orders</Link></li>
        <li><Link to="/wishlist" className="text-indigo-700 underline">Your wishlist</Link></li>
        {isOperator ? <li><Link to="/ops/products" className="text-indigo-700 underline">Operator console</Link></li> : null}
      </ul>
      <button type="button" onClick={signOut} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2">Sign out</button>
    </div>
  );
}
