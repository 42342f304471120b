/**
 * Scrolling like a page-by-page site: a new page (a link, "Next", a new filter) starts at the
 * top; Back and Forward return to where the shopper was on that entry. Positions are kept per
 * history entry (the router's location key) for the life of the tab.
 */
import { useEffect, useLayoutEffect, useRef } from "react";
import { useLocation, useNavigationType } from "react-router-dom";

const positions = new Map<string, number>();
/** How long a restore waits for the page to grow tall enough (its data may still be loading). */
const RESTORE_WAIT_MS = 2000;

export function useScrollMemory(): void {
  const location = useLocation();
  const navigation = useNavigationType();
  const { key } = location;
  // the entry scroll events belong to: switched before the new page scrolls, so the scroll that
  // resets it is never recorded against the page left
  const current = useRef(key);

  useEffect(() => {
    if ("scrollRestoration" in window.history) window.history.scrollRestoration = "manual";
    const remember = () => positions.set(current.current, window.scrollY);
    window.addEventListener("scroll", remember, { passive: true });
    return () => window.removeEventListener("scroll", remember);
  }, []);

  useLayoutEffect(() => {
    current.current = key;
    if (navigation === "REPLACE") return;
    const target = navigation === "POP" ? (positions.get(key) ?? 0) : 0;
    if (target === 0) {
      window.scrollTo(0, 0);
      return;
    }
    const started = performance.now();
    let frame = 0;
    const attempt = () => {
      window.scrollTo(0, target);
      const reached = Math.abs(window.scrollY - target) < 2;
      if (!reached && performance.now() - started < RESTORE_WAIT_MS) frame = requestAnimationFrame(attempt);
    };
    attempt();
    return () => cancelAnimationFrame(frame);
  }, [key, navigation]);
}
