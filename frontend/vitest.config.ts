/** Unit and component tests run in jsdom; the browser tests under e2e/ have their own runner. */
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    // `make test` runs these beside the Python suite on two cores: a test's own waits, not
    // the default 5 s, bound how long a slow machine may take
    testTimeout: 30_000,
  },
});
