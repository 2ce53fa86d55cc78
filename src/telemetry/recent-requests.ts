// The last requests the gateway served, for the dashboard's live tail, each with its per-plugin
// timings and decisions (what x-portcullis-timing says for a debug request). Collected only while
// somebody watches (the tail was asked for in the last WATCH_MS): per-plugin timing has a cost,
// and nobody should pay it when no dashboard is open.
import type { PluginTiming } from "./plugin-timing.js";

export interface RecentRequest {
  at: string;
  requestId: string;
  method: string;
  path: string;
  /** "api operation", or null when no route matched. */
  route: string | null;
  status: number;
  durationMs: number;
  upstream: string | null;
  timings: PluginTiming[];
}

const KEEP = 200;
const WATCH_MS = 15_000;

export class RecentRequests {
  private readonly ring: (RecentRequest | undefined)[] = new Array(KEEP);
  private next = 0;
  private watchedUntil = 0;

  /** Whether requests should be recorded now (a tail was asked for lately). */
  watching(now = Date.now()): boolean {
    return now < this.watchedUntil;
  }

  record(entry: RecentRequest): void {
    this.ring[this.next % KEEP] = entry;
    this.next++;
  }

  /** Newest first; asking keeps the recording on for a while. */
  list(now = Date.now()): RecentRequest[] {
    this.watchedUntil = now + WATCH_MS;
    const entries: RecentRequest[] = [];
    for (let i = this.next - 1; i >= Math.max(0, this.next - KEEP); i--) entries.push(this.ring[i % KEEP]!);
    return entries;
  }

  find(requestId: string): RecentRequest | null {
    for (let i = this.next - 1; i >= Math.max(0, this.next - KEEP); i--) if (this.ring[i % KEEP]!.requestId === requestId) return this.ring[i % KEEP]!;
    return null;
  }
}

export const recentRequests = new RecentRequests();
