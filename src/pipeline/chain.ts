// The chain of plugins a route runs: global attachments, then the API's, then the operation's. When
// the same plugin (same id) is attached at several levels, the most specific attachment wins: it
// takes the place of the outermost one, so the order operators set globally is kept.
import { Ajv, type ValidateFunction } from "ajv";
import type { ConfigIssue } from "../config/errors.js";
import type { CanaryConfig, PluginAttachment } from "../config/types.js";
import { canaryHooks, canaryRecord } from "./canary.js";
import type { ChainLink, PluginCallCounts, PluginDefinition, PluginHooks, PluginSetup } from "./plugin.js";

const callCounts = new Map<string, PluginCallCounts>();

/** Every plugin's calls and faults since start, by name (for /metrics). */
export function pluginCallCounts(): ReadonlyMap<string, PluginCallCounts> {
  return callCounts;
}

function countsFor(name: string): PluginCallCounts {
  let counts = callCounts.get(name);
  if (!counts) callCounts.set(name, (counts = { calls: 0, errors: 0 }));
  return counts;
}

export type Scope = ChainLink["scope"];

export interface PluginCatalog {
  /** The definition for a plugin name, or null if no built-in or user plugin has that name. */
  find(name: string): PluginDefinition | null;
  names(): string[];
}

interface Placed {
  attachment: PluginAttachment;
  scope: Scope;
}

/** Which attachments apply, in order, after more specific levels have overridden less specific ones. */
export function effectiveAttachments(levels: [Scope, PluginAttachment[]][]): Placed[] {
  const placed: Placed[] = [];
  for (const [scope, list] of levels) {
    for (const attachment of list) {
      const at = placed.findIndex((entry) => entry.attachment.id === attachment.id);
      if (at >= 0 && placed[at].scope !== scope) placed[at] = { attachment, scope };
      else placed.push({ attachment, scope });
    }
  }
  return placed.filter((entry) => entry.attachment.enabled);
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validators = new WeakMap<PluginDefinition, ValidateFunction>();

/**
 * An attachment's options checked against its plugin's schema, with the schema's defaults filled
 * in (a copy: config stays as written): what the gateway does before a plugin sees its options,
 * and what the plugin test harness does too.
 */
export function checkedOptions(
  definition: PluginDefinition,
  given: Record<string, unknown>,
): { ok: true; options: Record<string, unknown> } | { ok: false; problems: string[] } {
  let validate = validators.get(definition);
  if (!validate) validators.set(definition, (validate = ajv.compile(definition.optionsSchema)));
  const options = structuredClone(given);
  if (validate(options)) return { ok: true, options };
  return { ok: false, problems: (validate.errors ?? []).map((error) => `options${error.instancePath.replace(/\//g, ".")} ${error.message ?? "is invalid"}`) };
}

/** Builds chain links, checking each attachment's options once and reusing its hooks across routes. */
export class ChainBuilder {
  private readonly links = new Map<PluginAttachment, ChainLink>();
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly catalog: PluginCatalog,
    private readonly setup: PluginSetup,
  ) {}

  build(levels: [Scope, PluginAttachment[]][]): ChainLink[] {
    const chain: ChainLink[] = [];
    for (const { attachment, scope } of effectiveAttachments(levels)) {
      const link = this.link(attachment, scope);
      if (link) chain.push(link);
    }
    return chain;
  }

  private link(attachment: PluginAttachment, scope: Scope): ChainLink | null {
    const known = this.links.get(attachment);
    if (known) return known;
    const definition = this.catalog.find(attachment.name);
    if (!definition) {
      this.issue(attachment, `unknown plugin '${attachment.name}' (available: ${this.catalog.names().join(", ") || "none"})`);
      return null;
    }
    const checked = checkedOptions(definition, attachment.options);
    if (!checked.ok) {
      for (const problem of checked.problems) this.issue(attachment, problem);
      return null;
    }
    const options = checked.options;
    let hooks;
    try {
      hooks = definition.create(options, this.setup);
    } catch (error) {
      this.issue(attachment, `could not be set up: ${(error as Error).message}`);
      return null;
    }
    let canary: ChainLink["canary"] = null;
    if (attachment.canary) {
      const made = this.canary(attachment, attachment.canary, definition, hooks);
      if (!made) return null;
      ({ hooks, canary } = made);
    }
    const link: ChainLink = {
      name: attachment.name,
      id: attachment.id,
      scope,
      options,
      onError: attachment.onError ?? definition.defaultOnError ?? "fail-closed",
      hooks,
      definition,
      counts: countsFor(attachment.name),
      canary,
    };
    this.links.set(attachment, link);
    return link;
  }

  /** The canary version's hooks, set up with the same options (checked against its own schema), and the hooks that choose between both. */
  private canary(
    attachment: PluginAttachment,
    config: CanaryConfig,
    stable: PluginDefinition,
    stableHooks: PluginHooks,
  ): { hooks: PluginHooks; canary: NonNullable<ChainLink["canary"]> } | null {
    const definition = this.catalog.find(config.plugin);
    if (!definition) {
      this.issue(attachment, `canary: unknown plugin '${config.plugin}' (a file plugins/${config.plugin}.ts, or a built-in)`);
      return null;
    }
    const checked = checkedOptions(definition, attachment.options);
    if (!checked.ok) {
      for (const problem of checked.problems) this.issue(attachment, `canary ${config.plugin}: ${problem}`);
      return null;
    }
    let canaryHooksMade: PluginHooks;
    try {
      canaryHooksMade = definition.create(checked.options, this.setup);
    } catch (error) {
      this.issue(attachment, `canary ${config.plugin} could not be set up: ${(error as Error).message}`);
      return null;
    }
    const record = canaryRecord(`${attachment.id}|${attachment.name}|${config.plugin}`, stable, definition, config, this.setup.log);
    return { hooks: canaryHooks(stableHooks, canaryHooksMade, checked.options, record), canary: { definition, record } };
  }

  private issue(attachment: PluginAttachment, message: string): void {
    this.issues.push({ ...attachment.source, path: `plugin ${attachment.name}`, message });
  }
}
