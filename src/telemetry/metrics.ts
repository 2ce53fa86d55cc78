// Metrics in the Prometheus text format (version 0.0.4), served by the admin API at GET /metrics.
// A small registry of our own rather than a client library: recording a request is one map lookup
// and a few increments on the request path; everything else (plugins, caches, upstream health,
// process) is read from the counters those parts already keep, when /metrics is scraped.

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function numberText(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  write(lines: string[]): void;
}

export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly labelNames: readonly string[]) {}

  /** Adds to the series for these label values (in labelNames order). */
  inc(values: readonly string[], by = 1): void {
    const key = values.join("\u0000");
    let series = this.series.get(key);
    if (!series) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      this.series.set(key, (series = { labels, value: 0 }));
    }
    series.value += by;
  }

  write(name: string, lines: string[]): void {
    for (const { labels, value } of this.series.values()) lines.push(`${name}${labelText(labels)} ${numberText(value)}`);
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {}

  observe(values: readonly string[], value: number): void {
    const key = values.join("\u0000");
    let series = this.series.get(key);
    if (!series) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      this.series.set(key, (series = { labels, counts: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 }));
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        series.counts[i]++;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  write(name: string, lines: string[]): void {
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += counts[i];
        lines.push(`${name}_bucket${labelText(labels, ["le", numberText(bound)])} ${cumulative}`);
      });
      lines.push(`${name}_bucket${labelText(labels, ["le", "+Inf"])} ${count}`);
      lines.push(`${name}_sum${labelText(labels)} ${numberText(sum)}`);
      lines.push(`${name}_count${labelText(labels)} ${count}`);
    }
  }
}

/** Series read at scrape time: [labels, value] pairs. */
export type Reading = () => Iterable<[Labels, number]>;

export class Registry {
  private readonly families: Family[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const counter = new Counter(labelNames);
    this.families.push({ name, help, type: "counter", write: (lines) => counter.write(name, lines) });
    return counter;
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): Histogram {
    const histogram = new Histogram(labelNames, bounds);
    this.families.push({ name, help, type: "histogram", write: (lines) => histogram.write(name, lines) });
    return histogram;
  }

  /** A counter or gauge whose values are read from elsewhere when scraped. */
  read(name: string, help: string, type: "counter" | "gauge", reading: Reading): void {
    this.families.push({
      name,
      help,
      type,
      write: (lines) => {
        for (const [labels, value] of reading()) lines.push(`${name}${labelText(labels)} ${numberText(value)}`);
      },
    });
  }

  /** The exposition text. A reading that throws is left out, not the whole page. */
  text(): string {
    const lines: string[] = [];
    for (const family of this.families) {
      const body: string[] = [];
      try {
        family.write(body);
      } catch {
        continue;
      }
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`, ...body);
    }
    return `${lines.join("\n")}\n`;
  }
}

/** Seconds buckets for request latencies: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
