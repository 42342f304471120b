// @vitest-environment node
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_DIR, staleFiles } from "../../scripts/gen-types";
import { PASSWORD_MIN_LENGTH } from "../components/SignIn";
import openapi from "./openapi.json";

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

  it("agree with the forms on the shortest password the server takes", () => {
    const schemas = openapi.components.schemas;
    expect([schemas.RegisterBody.properties.password.minLength, schemas.PasswordBody.properties.newPassword.minLength]).toEqual([PASSWORD_MIN_LENGTH, PASSWORD_MIN_LENGTH]);
  });
});
