// @vitest-environment node
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_DIR, staleFiles } from "../../scripts/gen-types";

const REPO = join(GENERATED_DIR, "..", "..", "..");
const PYTHON = process.env.PYTHON ?? join(REPO, ".venv", "bin", "python");

describe("generated types", () => {
  it("have contract JSON equal to what the Python event contract and OpenAPI schema give now", () => {
    const run = () => execFileSync(PYTHON, [join(REPO, "scripts", "gen_types.py"), "--check"], { cwd: REPO, stdio: "pipe" });
    expect(run).not.toThrow();
  }, 60_000);

  it("have TypeScript equal to what the generators make from that JSON", async () => {
    expect(await staleFiles()).toEqual([]);
  }, 60_000);
});
