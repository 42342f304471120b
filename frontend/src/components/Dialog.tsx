/**
 * Modal dialogs: focus moves in when one opens, Tab stays inside it, Escape (or the backdrop)
 * closes it, and focus goes back to whatever opened it. Every dialog of the shop is built on these.
 */
import { useEffect, useRef, type ReactNode, type RefObject } from "react";
import { tabbableWithin, trapTab } from "../lib/focus";

export interface FocusTrapOptions {
  /** Called on Escape; the owner decides to close. */
  onEscape: () => void;
  /** The element focused on opening (default: the first tabbable one, else the dialog itself). */
  initialFocus?: RefObject<HTMLElement | null>;
}

/**
 * While `active`, keeps keyboard focus inside `ref`'s element; on deactivation, focus returns to
 * the element that had it when the trap started (the opener), if it is still on the page.
 */
export function useFocusTrap(ref: RefObject<HTMLElement | null>, active: boolean, options: FocusTrapOptions): void {
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });

  useEffect(() => {
    const root = ref.current;
    if (!active || !root) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const start = latest.current.initialFocus?.current ?? tabbableWithin(root)[0] ?? root;
    start.focus();

    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === "Escape") {
        ev.stopPropagation();
        latest.current.onEscape();
      } else {
        trapTab(root, ev);
      }
    };
    // a click or script that puts focus behind the dialog brings it back in
    const onFocusIn = (ev: FocusEvent) => {
      if (ev.target instanceof Node && !root.contains(ev.target)) (tabbableWithin(root)[0] ?? root).focus();
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("focusin", onFocusIn);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("focusin", onFocusIn);
      if (opener?.isConnected) opener.focus();
    };
  }, [active, ref]);
}

export interface DialogProps {
  open: boolean;
  onClose: () => void;
  /** The id of the element (usually the heading) that names the dialog. */
  labelledBy: string;
  children: ReactNode;
  /** Classes of the dialog panel (position, size, look). */
  className?: string;
  /** Classes of the frame that holds the backdrop and the panel. */
  frameClassName?: string;
  initialFocus?: RefObject<HTMLElement | null>;
  testId?: string;
  id?: string;
}

/** A modal dialog over a dimmed backdrop that closes it when clicked. */
export function Dialog({ open, onClose, labelledBy, children, className = "relative rounded-lg bg-white p-4 shadow-xl", frameClassName = "fixed inset-0 z-40 flex items-center justify-center", initialFocus, testId, id }: DialogProps) {
  const panel = useRef<HTMLDivElement>(null);
  useFocusTrap(panel, open, initialFocus ? { onEscape: onClose, initialFocus } : { onEscape: onClose });
  if (!open) return null;
  return (
    <div className={frameClassName}>
      <div className="absolute inset-0 bg-slate-900/40" onClick={onClose} aria-hidden />
      <div ref={panel} id={id} role="dialog" aria-modal="true" aria-labelledby={labelledBy} tabIndex={-1} className={className} data-testid={testId}>
        {children}
      </div>
    </div>
  );
}
