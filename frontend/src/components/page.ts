/**
 * What every page does for people who cannot see the whole screen at once: it names itself in the
 * browser's title ("Catalog · KartShoppe"), and after a navigation keyboard focus starts at its
 * main heading, so a screen reader announces the new page and Tab continues from there.
 */
import { useEffect, useRef } from "react";
import { focusHeading, mainHeading } from "../lib/focus";

export const SHOP_NAME = "KartShoppe";

/** The document title of a page named `title` (the shop's name alone without one). */
export function pageTitle(title: string | null | undefined): string {
  const name = title?.trim();
  return name ? `${name} · ${SHOP_NAME}` : SHOP_NAME;
}

/** Titles the document while the calling page is shown; call it in every page component. */
export function usePageTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = pageTitle(title);
    return () => {
      document.title = SHOP_NAME;
    };
  }, [title]);
}

/**
 * After each change of `pathname` (not on the first page load), focuses the main heading (the
 * `h1` in `main`) as soon as it is rendered, which for a page that loads data is after its
 * skeleton. It gives up when the person has moved the focus meanwhile, or after `timeoutMs`.
 * Scrolling is left to the router's scroll handling (a Back restores the position).
 */
export function useFocusHeadingOnNavigate(pathname: string, timeoutMs = 10_000): void {
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    const before = document.activeElement;
    const untouched = () => {
      const now = document.activeElement;
      return now === before || now === null || now === document.body;
    };
    /** True when there is nothing more to wait for. */
    const attempt = (): boolean => {
      if (!untouched()) return true;
      const heading = mainHeading();
      if (!heading) return false;
      focusHeading(heading);
      return true;
    };
    if (attempt()) return;
    const observer = new MutationObserver(() => {
      if (attempt()) stop();
    });
    const timer = window.setTimeout(() => stop(), timeoutMs);
    function stop(): void {
      observer.disconnect();
      window.clearTimeout(timer);
    }
    observer.observe(document.querySelector("main") ?? document.body, { childList: true, subtree: true });
    return stop;
  }, [pathname, timeoutMs]);
}
