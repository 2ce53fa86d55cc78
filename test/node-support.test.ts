// Which runtimes the gateway warns about at start: Node 20 is past end of life, odd and unknown
// lines are not supported; 22, 24 and 26 start quietly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeSupportWarning } from "../src/node-support.js";
import { startGatewayProcess } from "./helpers/gateway.js";

describe("supported Node.js runtimes", () => {
  it("Node 20 gets a warning that it is past end of life, naming the supported lines", () => {
    const warning = nodeSupportWarning("20.20.2");
    assert.match(String(warning), /Node 20 reached end of life on 2026-04-30/);
    assert.match(String(warning), /Node 22, 24, 26/);
  });

  it("Node 22, 24 and 26 start without a warning", () => {
    for (const version of ["22.23.5", "24.22.3", "26.12.1"]) assert.equal(nodeSupportWarning(version), null, version);
  });

  it("a line Portcullis does not support is named as such", () => {
    assert.match(String(nodeSupportWarning("25.2.0")), /Node 25 is not a supported runtime; Portcullis runs on Node 20, 22, 24, 26/);
    assert.match(String(nodeSupportWarning("18.20.0")), /Node 18 is not a supported runtime/);
  });

  it("the gateway logs the warning for the Node it runs on once at start, or nothing", async () => {
    const gateway = await startGatewayProcess("upstreams: { echo: { type: echo } }\napis: [{ name: echo, basePath: /echo, upstream: echo }]\n");
    try {
      const expected = nodeSupportWarning();
      const warnings = gateway.logs.filter((line) => line.node === process.versions.node);
      assert.deepEqual(
        warnings.map((line) => line.msg),
        expected === null ? [] : [expected],
      );
    } finally {
      await gateway.stop();
    }
  });
});
