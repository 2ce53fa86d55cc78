// Two gateway processes sharing one real redis-server, for the traffic plugins' tests: what one
// gateway counts, the other must see.
import { startGatewayProcess, type GatewayProcess } from "./gateway.js";
import { startRedis, type TestRedis } from "./redis.js";

export interface GatewayPair {
  redis: TestRedis;
  first: GatewayProcess;
  second: GatewayProcess;
  /** Alternates between the two gateways: the i-th request's gateway. */
  either(i: number): GatewayProcess;
  close(): Promise<void>;
}

/** Starts Redis and two gateways with `config(redisUrl)`, and waits until both are connected to it. */
export async function startGatewayPair(config: (redisUrl: string) => string): Promise<GatewayPair> {
  const redis = await startRedis();
  const started: GatewayProcess[] = [];
  const close = async () => {
    await Promise.all(started.map((gateway) => gateway.stop()));
    await redis.stop();
  };
  try {
    for (let i = 0; i < 2; i++) started.push(await startGatewayProcess(config(redis.url)));
    // Until its Redis connection is up a gateway decides without the store (fail-open: on its own).
    await Promise.all(started.map((gateway) => gateway.waitForLog((line) => line.msg === "store connected")));
  } catch (error) {
    await close();
    throw error;
  }
  const [first, second] = started;
  return { redis, first, second, either: (i) => (i % 2 ? first : second), close };
}
