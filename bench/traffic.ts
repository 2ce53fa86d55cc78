// What progressive delivery costs per request (docs/traffic.md), on one gateway with a route per
// variant, measured interleaved against the same route without it: a 90/10 traffic split between
// two upstreams (two pools on the same benchmark upstream), 10% mirroring to a shadow upstream (a
// second benchmark upstream), and a fault rule that matches no request (what the draw costs).
// Usage: node dist/bench/traffic.js [--rounds 5] [--seconds 5] [--connections 32]
import { roundOptions, runRounds, startBenchUpstream, startPortcullis } from "./lib/rounds.js";

const options = roundOptions({ rounds: 5, seconds: 5, connections: 32 });
const upstream = await startBenchUpstream();
const shadow = await startBenchUpstream();
const gateway = await startPortcullis(
  "traffic",
  `log: { access: false }
upstreams:
  app: { targets: [{ url: "${upstream.url}" }] }
  app-next: { targets: [{ url: "${upstream.url}" }] }
  shadow: { targets: [{ url: "${shadow.url}" }] }
apis:
  - { name: plain, basePath: /plain, upstream: app }
  - name: split
    basePath: /split
    upstream: app
    split: { to: [{ upstream: app, weight: 90 }, { upstream: app-next, weight: 10 }] }
  - name: mirror
    basePath: /mirror
    upstream: app
    mirror: { upstream: shadow, share: 10 }
  - name: faults
    basePath: /faults
    upstream: app
    faults: [{ headers: { x-chaos: "on" }, share: 50, abort: { status: 503 } }]
`,
);
const base = gateway.url.replace(/\/$/, "");
const pid = gateway.child.pid!;
await runRounds(
  "traffic",
  [
    { name: "plain route", url: `${base}/plain/items`, pid },
    { name: "split 90/10", url: `${base}/split/items`, pid },
    { name: "mirror 10%", url: `${base}/mirror/items`, pid },
    { name: "fault rule, no match", url: `${base}/faults/items`, pid },
  ],
  "plain route",
  options,
);
for (const child of [upstream.child, shadow.child, gateway.child]) child.kill("SIGTERM");
process.exit(0);
