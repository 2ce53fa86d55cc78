// What sandboxed plugins cost per request. In one run, interleaved: the gateway with no plugin,
// with the built-in headers plugin, with a sandboxed plugin whose two hooks do nothing, with
// plugins/add-header.ts (request and response hooks) once, and five times (different ids).
// Access log off, so that the plugins' cost stands out. Targets (issue "Sandboxed TypeScript
// plugins"): one such plugin ≤ 50 µs CPU per request and ≥ 85% of the no-plugin requests/s;
// five keep ≥ 60%.
// Usage: node dist/bench/plugins.js [--rounds 5] [--seconds 8] [--connections 32]
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareGateways, oneRoute, roundOptions, sandboxedHeaders, startBenchUpstream } from "./lib/rounds.js";

const options = roundOptions();
const upstream = await startBenchUpstream();

// The example plugins, and beside them one whose two hooks do nothing: what entering an isolate
// twice per request costs by itself, the floor under any sandboxed plugin with both hooks.
const pluginsDir = mkdtempSync(join(tmpdir(), "portcullis-bench-plugins-"));
cpSync(fileURLToPath(new URL("../../plugins", import.meta.url)), pluginsDir, { recursive: true });
writeFileSync(join(pluginsDir, "no-op.ts"), 'import { definePlugin } from "portcullis";\nexport default definePlugin({ onRequest() {}, onResponse() {} });\n');
await compareGateways(
  "sandboxed plugin cost",
  [
    { name: "no-plugin", config: oneRoute(upstream.url) },
    {
      name: "1 built-in header",
      config: oneRoute(upstream.url, "{ name: headers, options: { request: { set: { x-h0: v } }, response: { set: { x-h0: v } } } }"),
    },
    { name: "1 sandboxed no-op", config: oneRoute(upstream.url, "{ name: no-op }"), pluginsDir },
    { name: "1 sandboxed header", config: oneRoute(upstream.url, sandboxedHeaders(1)), pluginsDir },
    { name: "5 sandboxed headers", config: oneRoute(upstream.url, sandboxedHeaders(5)), pluginsDir },
  ],
  "no-plugin",
  options,
  [upstream.child],
);
process.exit(0);
