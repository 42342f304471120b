/** Test setup: DOM matchers and a clean DOM and storage between tests. */
import "@testing-library/jest-dom/vitest";
import { notifyManager } from "@tanstack/react-query";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// TanStack Query tells components about a cache change on the next tick; in tests it tells them at
// once, inside the act() that delivered the push, as React state would
notifyManager.setScheduler((notify) => notify());

afterEach(() => {
  cleanup();
  if (typeof localStorage !== "undefined") localStorage.clear();
});
