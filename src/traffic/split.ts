// A traffic split: which upstream serves a request of a route with `split` (docs/traffic.md). A
// matching rule decides first; then the weights, by a hash of the sticky key (a header, a cookie,
// the consumer) so that a caller keeps its side while the weights stay, or at random for callers
// without one.
import type { IncomingHttpHeaders } from "node:http";
import type { SplitConfig } from "../config/types.js";
import type { Consumer } from "../consumers/directory.js";
import { requestKey } from "../proxy/headers.js";
import type { Upstream } from "../snapshot.js";
import { matchesTraffic } from "./match.js";

export class TrafficSplit {
  private readonly sides: { upstream: Upstream; upTo: number }[];
  private readonly total: number;

  constructor(
    readonly config: SplitConfig,
    upstreams: ReadonlyMap<string, Upstream>,
  ) {
    let sum = 0;
    this.sides = config.to.map((side) => ({ upstream: upstreams.get(side.upstream)!, upTo: (sum += side.weight) }));
    this.total = sum;
  }

  choose(headers: IncomingHttpHeaders, consumer: Consumer | null): Upstream {
    for (const rule of this.config.rules) if (matchesTraffic(rule, headers, consumer)) return this.side(rule.to);
    const key = this.stickyKey(headers, consumer);
    const point = (key === null ? Math.random() : hashFraction(key)) * this.total;
    for (const side of this.sides) if (point < side.upTo) return side.upstream;
    return this.sides.findLast((side) => side.upTo > 0)!.upstream;
  }

  private side(name: string): Upstream {
    return this.sides.find((side) => side.upstream.name === name)!.upstream;
  }

  private stickyKey(headers: IncomingHttpHeaders, consumer: Consumer | null): string | null {
    const sticky = this.config.sticky;
    if (sticky === null) return null;
    return sticky.consumer ? (consumer?.id ?? null) : requestKey(sticky, headers);
  }
}

/** A key's place in [0, 1): FNV-1a, 32 bits (even enough for placing callers, and cheap). */
export function hashFraction(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}
