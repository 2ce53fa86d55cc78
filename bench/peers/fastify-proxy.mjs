// fastify 5 with @fastify/http-proxy (undici underneath): the fastest general-purpose Node proxy
// setup bench:proxy compares with. Usage: node fastify-proxy.mjs PORT TARGET_URL
import Fastify from "fastify";
import proxy from "@fastify/http-proxy";

const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.argv[3], undici: { connections: 256, pipelining: 1 } });
await app.listen({ port: Number(process.argv[2]), host: "127.0.0.1" });
process.send?.("ready");
process.on("SIGTERM", () => process.exit(0));
