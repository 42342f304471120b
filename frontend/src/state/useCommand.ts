/**
 * One shape for every command a person starts (a form, a button): TanStack Query's mutation,
 * with whether it is running and its error as a sentence to show.
 */
import { useMutation } from "@tanstack/react-query";
import { ApiError, errorMessage } from "../lib/api";

export interface Command<Args, Result> {
  run: (args: Args, then?: { onSuccess?: (result: Result) => void }) => void;
  busy: boolean;
  error: string | null;
  /** The request field the server named in its refusal, if it named one. */
  field: string | null;
  /** The last successful result, until the command runs again. */
  result: Result | undefined;
}

export function useCommand<Args, Result>(
  perform: (args: Args) => Promise<Result>,
  options: { onSuccess?: (result: Result, args: Args) => void; fallbackError?: string } = {},
): Command<Args, Result> {
  const mutation = useMutation({ mutationFn: perform, ...(options.onSuccess ? { onSuccess: options.onSuccess } : {}) });
  const failed = mutation.error;
  return {
    run: (args, then) => mutation.mutate(args, then?.onSuccess ? { onSuccess: then.onSuccess } : {}),
    busy: mutation.isPending,
    error: failed ? errorMessage(failed, options.fallbackError) : null,
    field: failed instanceof ApiError ? failed.field : null,
    result: mutation.data,
  };
}
