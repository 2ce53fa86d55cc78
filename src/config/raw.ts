// The config as the schema has checked it (defaults filled in), before normalising: what the
// checks and the normaliser read. Derived from the schema itself (src/config/schema.ts), so the
// shape of the file is written once; properties with a default are never absent here.
import type { FromSchema } from "json-schema-to-ts";
import type { configSchema } from "./schema.js";

export type RawConfig = FromSchema<typeof configSchema>;
export type RawApi = RawConfig["apis"][number];
export type RawOperation = NonNullable<RawApi["operations"]>[number];
export type RawUpstream = RawConfig["upstreams"][string];
export type RawAttachment = NonNullable<RawConfig["plugins"]>[number];
export type RawMatch = NonNullable<RawOperation["match"]>;
export type RawRouteTimeouts = NonNullable<RawOperation["timeouts"]>;
export type RawWebSocket = NonNullable<RawOperation["websocket"]>;
