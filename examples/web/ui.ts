// Small DOM helpers of the example front end.

export const $ = (id: string) => document.getElementById(id) as HTMLElement;

export const esc = (s: unknown) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

/** "1 change", "3 changes". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How long ago, in words a rep reads at a glance. */
export function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${plural(hours, "hour")} ago`;
  return `${plural(Math.floor(hours / 24), "day")} ago`;
}

export const dateTime = (t: number) =>
  new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A message in the page (never a blocking alert): errors stay until dismissed. */
let noticeTimer: ReturnType<typeof setTimeout> | undefined;

export function showNotice(message: string, kind: "error" | "info" = "error"): void {
  const notice = $("notice");
  clearTimeout(noticeTimer);
  // Good news goes by itself; an error waits to be read.
  if (kind === "info") noticeTimer = setTimeout(clearNotice, 4_000);
  notice.className = kind;
  notice.innerHTML = `<span data-testid="notice-text">${esc(message)}</span>
    <button class="secondary" data-action="dismiss" aria-label="Dismiss">✕</button>`;
}

export function clearNotice(): void {
  $("notice").className = "";
  $("notice").innerHTML = "";
}

/** Saves text as a file through the browser's download. */
export function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
