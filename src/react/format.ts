/** "1 document", "3 documents". */
export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 ? one : many}`;

/** How long ago, in words a rep reads at a glance. */
export function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${plural(hours, "hour")} ago`;
  return `${plural(Math.floor(hours / 24), "day")} ago`;
}

/** The date and time in the user's locale, medium date and short time. */
export const dateTime = (t: number): string =>
  new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
