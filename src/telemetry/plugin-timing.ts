// One plugin hook's timing, as the debug timing header, the live tail and the dashboard show it.
// A module of its own, with no imports, so that the dashboard's browser code can share the type.

export interface PluginTiming {
  plugin: string;
  phase: "request" | "response" | "log";
  ms: number;
  /** CPU time in the plugin's isolate (sandboxed plugins). */
  cpuMs: number | null;
  /** continue, answered, error or timeout. */
  decision: string;
}
