// Where the API is: read at start-up from /config.json beside index.html, so one static
// build serves any installation. {"apiBaseUrl": ""} (or no file) means the API that
// served this page; a CDN-hosted console names the API's origin there.

export interface ConsoleConfig {
  apiBaseUrl: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) {
      const body: unknown = await response.json();
      if (body && typeof body === "object" && "apiBaseUrl" in body) {
        const { apiBaseUrl } = body as { apiBaseUrl: unknown };
        if (typeof apiBaseUrl === "string") return { apiBaseUrl: apiBaseUrl.replace(/\/+$/, "") };
      }
    }
  } catch {
    // No readable config.json: the API is this page's own origin.
  }
  return { apiBaseUrl: "" };
}
