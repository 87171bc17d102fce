// The one place that talks to the API: its base URL, the token, the error shape. The
// client is typed by the API's own OpenAPI (schema.d.ts, generated at build time), so a
// path, parameter or field the API no longer has fails `tsc`.
import createClient, { type Middleware } from "openapi-fetch";
import type { ConsoleConfig } from "./config";
import { ApiError, networkError, toApiError } from "./errors";
import type { paths } from "./schema";
import { expireSession, getToken } from "./session";

export type Api = ReturnType<typeof createClient<paths>>;

// Where a missing or refused token is the expected answer, not an expired session.
const PUBLIC_PATHS = new Set(["/api/v1/auth/login", "/api/v1/auth/register"]);

const auth: Middleware = {
  onRequest({ request, schemaPath }) {
    const token = getToken();
    if (token && !PUBLIC_PATHS.has(schemaPath)) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has("Authorization")) expireSession();
    return response;
  },
};

let baseUrl = "";
let client: Api | null = null;

export function initApi(config: ConsoleConfig): void {
  baseUrl = config.apiBaseUrl;
  client = createClient<paths>({ baseUrl });
  client.use(auth);
}

export function api(): Api {
  if (client === null) throw new Error("initApi() must run first");
  return client;
}

/** An absolute URL of an API path, for what cannot go through the client (EventSource). */
export function apiUrl(path: string, query: Record<string, string | number> = {}): string {
  const url = new URL(baseUrl + path, window.location.origin);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
  return url.toString();
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or an ApiError with the API's own message. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (cause) {
    throw cause instanceof ApiError ? cause : networkError(baseUrl, cause);
  }
  if (!answer.response.ok) throw toApiError(answer.response.status, answer.error);
  return answer.data as T;
}

/** A multipart body from a typed one: arrays become repeated fields, files stay files. */
export function formData(body: object): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      form.append(name, item instanceof Blob ? item : String(item));
    }
  }
  return form;
}
