// Calendar windows in a time zone, for quotas: which window an instant falls in ("2026-11-26" for
// a day) and how long until the next one starts. Offsets come from Intl; a day that a daylight-
// saving change makes 23 or 25 hours long ends at the next local midnight all the same, give or
// take that hour.
export type QuotaPeriod = "minute" | "hour" | "day" | "month";

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(now: number, timeZone: string) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(now)).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** Throws a RangeError for an unknown IANA time zone name. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat("en-US", { timeZone });
}

export function calendarWindow(now: number, period: QuotaPeriod, timeZone: string): { name: string; remainingMs: number } {
  const t = localParts(now, timeZone);
  const pad = (value: number) => String(value).padStart(2, "0");
  const intoSecond = now % 1000;
  const untilNextMinute = 60_000 - t.second * 1000 - intoSecond;
  const untilNextHour = untilNextMinute + (59 - t.minute) * 60_000;
  const untilNextDay = untilNextHour + (23 - t.hour) * 3_600_000;
  switch (period) {
    case "minute":
      return { name: `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}`, remainingMs: untilNextMinute };
    case "hour":
      return { name: `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}`, remainingMs: untilNextHour };
    case "day":
      return { name: `${t.year}-${pad(t.month)}-${pad(t.day)}`, remainingMs: untilNextDay };
    case "month": {
      const daysInMonth = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
      return { name: `${t.year}-${pad(t.month)}`, remainingMs: untilNextDay + (daysInMonth - t.day) * 86_400_000 };
    }
  }
}
