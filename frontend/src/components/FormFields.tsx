/**
 * The shop's form fields, the card fields of checkout and of paying an order later, and the new
 * password's two fields: a field the server's error names (`ApiError.field`) is ringed and
 * shows the server's message beneath.
 */
import type { ReactNode } from "react";
import type { Command } from "../state/useCommand";
import { ApiError, errorMessage } from "../lib/api";
import type { Card } from "../lib/types";

export interface Problem {
  message: string;
  field: string | null;
}

export function problemOf(err: unknown): Problem {
  if (err instanceof ApiError) return { message: err.message, field: err.field };
  return { message: errorMessage(err), field: null };
}

/** What a command's refusal says, with the field it names (`useCommand`). */
export function problemOfCommand<A, R>(command: Command<A, R>): Problem | null {
  return command.error ? { message: command.error, field: command.field } : null;
}

export const INPUT = "mt-1 w-full rounded border border-slate-300 px-2 py-1.5";

export const NO_CARD: Card = { number: "", expiry: "", cvc: "", name: "" };

export function Field({ label, name, problem, children }: { label: string; name: string; problem: Problem | null; children: ReactNode }) {
  const bad = problem?.field === name;
  return (
    <label className="block text-sm">
      <span className="font-medium text-slate-700">{label}</span>
      <div className={bad ? "rounded ring-2 ring-red-500" : ""}>{children}</div>
      {bad ? <span className="text-xs text-red-700" role="alert">{problem?.message}</span> : null}
    </label>
  );
}

export function CardFields({ card, onChange, problem }: { card: Card; onChange: (card: Card) => void; problem: Problem | null }) {
  return (
    <fieldset className="grid gap-3 sm:grid-cols-3">
      <legend className="text-lg font-semibold">Card (simulated; test card 4242 4242 4242 4242)</legend>
      <div className="sm:col-span-3"><Field label="Card number" name="card.number" problem={problem}><input className={INPUT} inputMode="numeric" autoComplete="cc-number" required value={card.number} onChange={(e) => onChange({ ...card, number: e.target.value })} /></Field></div>
      <Field label="Expiry (MM/YY)" name="card.expiry" problem={problem}><input className={INPUT} autoComplete="cc-exp" required value={card.expiry} onChange={(e) => onChange({ ...card, expiry: e.target.value })} /></Field>
      <Field label="CVC" name="card.cvc" problem={problem}><input className={INPUT} inputMode="numeric" autoComplete="cc-csc" required value={card.cvc} onChange={(e) => onChange({ ...card, cvc: e.target.value })} /></Field>
    </fieldset>
  );
}

/** The new password and its repetition; `passwordsDiffer` is the form's own check of them. */
export function NewPasswordFields({ next, again, onNext, onAgain, problem, minLength }: { next: string; again: string; onNext: (text: string) => void; onAgain: (text: string) => void; problem: Problem | null; minLength: number }) {
  return (
    <>
      <Field label={`New password (at least ${minLength} characters)`} name="newPassword" problem={problem}><input type="password" autoComplete="new-password" required minLength={minLength} className={INPUT} value={next} onChange={(e) => onNext(e.target.value)} /></Field>
      <Field label="New password again" name="newPasswordAgain" problem={problem}><input type="password" autoComplete="new-password" required className={INPUT} value={again} onChange={(e) => onAgain(e.target.value)} /></Field>
    </>
  );
}

export function passwordsDiffer(next: string, again: string): Problem | null {
  return next === again ? null : { message: "The new password and its repetition differ.", field: "newPasswordAgain" };
}
