/** Operator pages need an operator's sign-in; anyone else sees why and can sign in right there. */
import type { ReactNode } from "react";
import { useIdentity } from "../state/shop";
import { usePageTitle } from "./page";
import { SignInForm } from "./SignIn";

export function OperatorGate({ title, children }: { title: string; children: ReactNode }) {
  const { isOperator, userId } = useIdentity();
  usePageTitle(title);
  if (isOperator) return <>{children}</>;
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-2 text-2xl font-bold">{title}</h1>
      <p className="mb-4 text-slate-600" data-testid="operator-required">
        {userId ? "This page is for operators. Sign out and sign in with an operator account." : "This page is for operators. Sign in with an operator account."}
      </p>
      {userId ? null : <div className="rounded-lg border border-slate-200 bg-white p-4"><SignInForm idPrefix="operator-signin" /></div>}
    </div>
  );
}
