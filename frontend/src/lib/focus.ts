/**
 * Keyboard focus rules shared by every dialog and by navigation: what can take focus inside an
 * element, keeping Tab inside a dialog, and moving focus to a page's main heading.
 */

const FOCUSABLE = [
  "a[href]",
  "area[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "iframe",
  "[contenteditable=true]",
  "[tabindex]",
].join(",");

function isShown(el: HTMLElement): boolean {
  if (el.closest("[hidden],[inert]")) return false;
  // checkVisibility (display, visibility, content-visibility) where the browser has it
  return typeof el.checkVisibility === "function" ? el.checkVisibility({ visibilityProperty: true }) : true;
}

/** The elements inside `root` that Tab reaches, in tab order (positive tabindex is not used here). */
export function tabbableWithin(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => el.tabIndex >= 0 && isShown(el),
  );
}

/**
 * Keeps a Tab (or Shift+Tab) press inside `root`: from the last element it wraps to the first and
 * back, and a focus that has escaped is brought back in. Returns whether it moved the focus itself.
 */
export function trapTab(root: HTMLElement, event: Pick<KeyboardEvent, "key" | "shiftKey" | "preventDefault">): boolean {
  if (event.key !== "Tab") return false;
  const items = tabbableWithin(root);
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  if (!first || !last) {
    event.preventDefault();
    root.focus();
    return true;
  }
  const inside = active instanceof Node && root.contains(active);
  if (!inside || (event.shiftKey && (active === first || active === root))) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
    return true;
  }
  if (!event.shiftKey && active === last) {
    event.preventDefault();
    first.focus();
    return true;
  }
  return false;
}

/**
 * Focuses `el` as the start of a page for keyboard and screen-reader users: a heading is not
 * tabbable, so it gets tabindex -1 (focusable by script only) and no outline of its own.
 */
export function focusHeading(el: HTMLElement): void {
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: true });
}

/** The heading that names the page in `main`, if it is rendered yet. */
export function mainHeading(doc: Document = document): HTMLElement | null {
  return doc.querySelector<HTMLElement>("main h1");
}
