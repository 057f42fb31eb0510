// ONNX Runtime is told not to send telemetry before it loads, unless the operator said otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const session = fileURLToPath(new URL("./session.js", import.meta.url));

/** ORT_DISABLE_TELEMETRY as a fresh process sees it right after loading the ONNX decoder module. */
function afterImport(operatorSetting: string | undefined): string {
  const env = { ...process.env };
  delete env.ORT_DISABLE_TELEMETRY;
  if (operatorSetting !== undefined) env.ORT_DISABLE_TELEMETRY = operatorSetting;
  const probe = `await import(${JSON.stringify(session)}); process.stdout.write(String(process.env.ORT_DISABLE_TELEMETRY))`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", probe], { env, encoding: "utf8" });
}

test("loading the ONNX decoder switches ONNX Runtime's telemetry off", () => {
  assert.equal(afterImport(undefined), "1");
});

test("an operator's own ORT_DISABLE_TELEMETRY is left as it is", () => {
  assert.equal(afterImport("0"), "0");
});
