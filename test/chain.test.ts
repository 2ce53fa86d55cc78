// Which plugin attachments a route runs, and in which order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PluginAttachment } from "../src/config/types.js";
import { effectiveAttachments } from "../src/pipeline/chain.js";

function attach(name: string, options: Record<string, unknown> = {}, extra: Partial<PluginAttachment> = {}): PluginAttachment {
  return { name, id: extra.id ?? name, options, onError: null, enabled: true, source: { file: "f", line: 1, column: 1 }, canary: null, ...extra };
}

describe("plugin chain", () => {
  it("runs global, then API, then operation attachments", () => {
    const chain = effectiveAttachments([
      ["global", [attach("a")]],
      ["api", [attach("b")]],
      ["operation", [attach("c")]],
    ]);
    assert.deepEqual(
      chain.map((entry) => entry.attachment.name),
      ["a", "b", "c"],
    );
  });

  it("lets the most specific attachment of a plugin win, in the place of the outermost", () => {
    const chain = effectiveAttachments([
      ["global", [attach("cors", { level: "global" }), attach("log")]],
      ["api", [attach("cors", { level: "api" })]],
      ["operation", [attach("cors", { level: "operation" })]],
    ]);
    assert.deepEqual(
      chain.map((entry) => [entry.attachment.name, entry.scope, entry.attachment.options.level]),
      [
        ["cors", "operation", "operation"],
        ["log", "global", undefined],
      ],
    );
  });

  it("keeps several attachments of one plugin at the same level", () => {
    const chain = effectiveAttachments([["api", [attach("mock", { n: 1 }, { id: "first" }), attach("mock", { n: 2 }, { id: "second" })]]]);
    assert.equal(chain.length, 2);
  });

  it("removes an inherited attachment when a more specific level disables it", () => {
    const chain = effectiveAttachments([
      ["global", [attach("auth")]],
      ["operation", [attach("auth", {}, { enabled: false })]],
    ]);
    assert.equal(chain.length, 0);
  });
});
