// Where a plugin's console lines go: the gateway's log, under the plugin's name, within the log
// budget, with the request's trace id and the plugin's own .ts position.
import type { Logger } from "pino";
import type { PluginContext } from "../../src/pipeline/plugin.js";
import { defaultLogBudget, logBudget } from "./log-budget.js";
import type { Bridge } from "./plugin-isolate.js";
import type { PluginSourceMap } from "./source-map.js";

const LOG_LEVELS = new Set<string>(["debug", "info", "warn", "error"]);

export interface PluginConsole {
  log: Bridge["log"];
  /** Notes a request's trace id, so that a console line (which knows its request id) names its trace. */
  rememberTrace(ctx: PluginContext): void;
  /** Log lines dropped because the plugin logged past its budget. */
  dropped(): number;
}

export function pluginConsole(pluginLog: Logger, sourceMap: PluginSourceMap): PluginConsole {
  const traceIds = new Map<string, string>();
  const logs = logBudget((dropped) => pluginLog.warn({ dropped }, `plugin log lines dropped: over ${defaultLogBudget.lines} lines per second`));
  return {
    log: (level, requestId, message, at) => {
      // Plugin code can reach this callback with anything (it may take the bridge before the runtime hides it).
      if (!LOG_LEVELS.has(level) || typeof message !== "string" || typeof requestId !== "string" || typeof at !== "string") return;
      if (!logs.admit()) return;
      const position = /:(\d+):(\d+)$/.exec(at);
      const source = position ? sourceMap.position(Number(position[1]), Number(position[2])) : null;
      const traceId = requestId ? traceIds.get(requestId) : undefined;
      pluginLog[level](
        { ...(requestId ? { requestId } : {}), ...(traceId ? { trace_id: traceId } : {}), ...(source ? { at: source } : {}) },
        logs.trim(message),
      );
    },
    rememberTrace: (ctx) => {
      if (ctx.traceId === undefined || traceIds.get(ctx.requestId) === ctx.traceId) return;
      if (traceIds.size >= 1024) traceIds.delete(traceIds.keys().next().value!);
      traceIds.set(ctx.requestId, ctx.traceId);
    },
    dropped: () => logs.dropped,
  };
}
