/**
 * A forgotten password: without a token, the form that asks for a link by e-mail (the answer
 * is the same whether or not the e-mail has an account); with the link's token, the form that
 * sets the new password, then signing in with it.
 */
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Field, INPUT, NewPasswordFields, passwordsDiffer, problemOfCommand, type Problem } from "../components/FormFields";
import { PASSWORD_MIN_LENGTH, SignInForm } from "../components/SignIn";
import { usePageTitle } from "../components/page";
import { api } from "../lib/api";
import { useCommand } from "../state/useCommand";

const BUTTON = "rounded bg-slate-800 px-3 py-1.5 text-sm text-white hover:bg-slate-700 focus-visible:outline-2 disabled:bg-slate-400";

function AskForLink() {
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const ask = useCommand((address: string) => api.askPasswordReset(address), { onSuccess: (_, address) => setSentTo(address) });
  const problem = problemOfCommand(ask);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    ask.run(email.trim());
  };
  if (sentTo) {
    return <p role="status" className="rounded-lg border border-slate-200 bg-white p-4 text-sm">If {sentTo} has an account, a link to set a new password is on its way there. It works once, for a short while.</p>;
  }
  return (
    <form onSubmit={submit} aria-label="Ask for a link" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <p className="text-sm text-slate-600">Enter your account's e-mail and we send you a link to set a new password.</p>
      <Field label="Email" name="email" problem={problem}><input type="email" required autoComplete="username" className={INPUT} value={email} onChange={(e) => setEmail(e.target.value)} /></Field>
      {problem && problem.field !== "email" ? <p role="alert" className="text-sm text-red-700">{problem.message}</p> : null}
      <button type="submit" disabled={ask.busy} className={BUTTON}>Send the link</button>
    </form>
  );
}

function NewPassword({ token }: { token: string }) {
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [differ, setDiffer] = useState<Problem | null>(null);
  const [done, setDone] = useState(false);
  const reset = useCommand((password: string) => api.resetPassword(token, password), { onSuccess: () => setDone(true) });
  const problem = differ ?? problemOfCommand(reset);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    setDiffer(passwordsDiffer(next, again));
    if (next === again) reset.run(next);
  };
  if (done) {
    return (
      <div className="space-y-3">
        <p role="status" className="text-sm text-emerald-700">Your new password is set. Sign in with it.</p>
        <div className="rounded-lg border border-slate-200 bg-white p-4"><SignInForm idPrefix="reset-signin" /></div>
      </div>
    );
  }
  return (
    <form onSubmit={submit} aria-label="Set a new password" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <NewPasswordFields next={next} again={again} onNext={setNext} onAgain={setAgain} problem={problem} minLength={PASSWORD_MIN_LENGTH} />
      {problem && !["newPassword", "newPasswordAgain"].includes(problem.field ?? "") ? (
        <p role="alert" className="text-sm text-red-700">
          {problem.message}
          {problem.field === "token" ? <> <Link to="/reset-password" className="text-indigo-700 underline">Ask for a new link</Link></> : null}
        </p>
      ) : null}
      <button type="submit" disabled={reset.busy} className={BUTTON}>Set the new password</button>
    </form>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token");
  const title = token ? "Set a new password" : "Forgot your password?";
  usePageTitle(title);
  return (
    <div className="mx-auto max-w-sm space-y-3">
      <h1 className="text-2xl font-bold">{title}</h1>
      {token ? <NewPassword token={token} /> : <AskForLink />}
    </div>
  );
}
