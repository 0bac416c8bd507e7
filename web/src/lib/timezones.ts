/** IANA time zones for pickers, from the browser's own list (Intl), with their current UTC offset. */

export interface ZoneOption {
  id: string;
  /** "UTC+05:30": today's offset, to help tell similar cities apart. */
  offset: string;
  /** Lower-cased words to match a search against ("new york america"). */
  search: string;
}

const FALLBACK_ZONES = ["UTC", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];

function supportedZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: "timeZone") => string[] };
  const zones = intl.supportedValuesOf?.("timeZone") ?? FALLBACK_ZONES;
  // Intl omits "UTC" itself in some engines; it is the most common choice for servers and teams.
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

export function utcOffset(zone: string, at: Date = new Date()): string {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
      .formatToParts(at)
      .find((p) => p.type === "timeZoneName")?.value;
    return part === "GMT" || !part ? "UTC+00:00" : part.replace("GMT", "UTC");
  } catch {
    return "";
  }
}

let cache: ZoneOption[] | null = null;

export function zoneOptions(): ZoneOption[] {
  cache ??= supportedZones().map((id) => ({
    id,
    offset: utcOffset(id),
    search: id.toLowerCase().replace(/[_/]/g, " "),
  }));
  return cache;
}

export function searchZones(query: string, limit = 50): ZoneOption[] {
  const words = query.toLowerCase().trim().split(/\s+/).filter(Boolean);
  const all = zoneOptions();
  if (words.length === 0) return all.slice(0, limit);
  return all.filter((z) => words.every((w) => z.search.includes(w) || z.offset.toLowerCase().includes(w))).slice(0, limit);
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
