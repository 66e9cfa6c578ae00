// Digest periods in the user's own time zone. A daily digest is due once the local clock has
// passed 08:00 (period: the local date, 2026-11-21); a weekly one once it has passed Monday
// 08:00 (period: the local ISO week, 2026-W47). Before that moment the period is not due.
import type { DigestFrequency } from '../preferences/categories.ts';

export const DIGEST_HOUR = 8;

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** A valid IANA zone name, or UTC for none (identity did not say) or anything Intl does not know. */
export function safeTimeZone(timeZone: string | null | undefined): string {
  if (!timeZone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

export function localTime(instant: Date, timeZone: string | null | undefined): LocalTime {
  const zone = safeTimeZone(timeZone);
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS[parts.weekday ?? ''] ?? 1,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO-8601 week of a calendar date: `2026-W47` (the week-year may differ from the year). */
export function isoWeekKey(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday); // the Thursday of the same week
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return `${weekYear}-W${pad(week)}`;
}

/** The period whose digest is due at `instant` for a user in `timeZone`, or null when none is due yet. */
export function duePeriod(frequency: DigestFrequency, instant: Date, timeZone: string | null | undefined): string | null {
  const t = localTime(instant, timeZone);
  if (frequency === 'DAILY') {
    return t.hour >= DIGEST_HOUR ? `${t.year}-${pad(t.month)}-${pad(t.day)}` : null;
  }
  if (t.weekday === 1 && t.hour < DIGEST_HOUR) return null;
  return isoWeekKey(t.year, t.month, t.day);
}
