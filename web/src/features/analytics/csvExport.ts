import { session } from "../../api/client";
import { ApiError } from "../../api/errors";

/**
 * CSV exports need the bearer token, which a plain <a href> cannot send: fetch the file through
 * the session (refreshing the token if needed) and hand it to the browser as a download.
 */
export async function downloadCsv(path: string, query: Record<string, string | undefined>, filename: string): Promise<void> {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries({ ...query, format: "csv" })) if (value !== undefined) url.searchParams.set(key, value);
  const response = await session.fetch(new Request(url, { headers: { Accept: "text/csv" } }));
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const blobUrl = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = blobUrl;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10_000);
}
