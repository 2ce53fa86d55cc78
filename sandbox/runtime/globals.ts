// The web APIs a TypeScript author reaches for, installed on the isolate's global before plugin
// code runs (the bundle imports this module first). A bare V8 isolate has none of them.
import "./collection-caps.js";
import type { HostBridge } from "./wire.js";
import { atob, btoa } from "./web/base64.js";
import { structuredClone } from "./web/clone.js";
import { cryptoObject } from "./web/crypto.js";
import { URLSearchParams } from "./web/search-params.js";
import { TextDecoder, TextEncoder } from "./web/text.js";
import { urlClass } from "./web/url.js";

const scope = globalThis as unknown as Record<string, unknown> & { __portcullisHost?: HostBridge };
const hostSync =
  scope.__portcullisHost?.sync ??
  (() => {
    throw new Error("this API needs the gateway host");
  });

// WebAssembly is not part of the plugin contract, and growing a WebAssembly.Memory does not stop for
// V8's interrupts: a plugin growing one in a loop held the event loop for seconds past its budget.
delete scope.WebAssembly;

Object.assign(scope, {
  atob,
  btoa,
  structuredClone,
  crypto: cryptoObject(hostSync),
  URL: urlClass(hostSync),
  URLSearchParams,
  TextEncoder,
  TextDecoder,
});
