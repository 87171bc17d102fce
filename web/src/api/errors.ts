// The API's one error shape, {"error": {"code", "message", "details"}}, as an exception
// screens can show: its own message, and per-field messages where `details` names fields.
import type { components } from "./schema";

type ErrorResponse = components["schemas"]["ErrorResponse"];

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Messages by field name, from validation details: FastAPI's ({loc: [..., field],
   *  msg}) and the services' own ({field: "config.epochs", message}). */
  get fieldErrors(): Record<string, string> {
    const fields: Record<string, string> = {};
    if (!Array.isArray(this.details)) return fields;
    for (const item of this.details) {
      if (!item || typeof item !== "object") continue;
      const { loc, msg, field: path, message } = item as Record<string, unknown>;
      let field: unknown;
      let text: unknown = msg;
      if (Array.isArray(loc)) {
        field = [...loc].reverse().find((p) => typeof p === "string" && !LOCATIONS.has(p));
      } else if (typeof path === "string") {
        field = path.split(".").pop();
        text = message;
      }
      if (typeof field === "string" && typeof text === "string" && !(field in fields)) {
        fields[field] = text;
      }
    }
    return fields;
  }
}

// The part of a validation error's `loc` that says where the field was, not which.
const LOCATIONS = new Set(["body", "query", "path", "header", "form"]);

function isErrorResponse(body: unknown): body is ErrorResponse {
  if (!body || typeof body !== "object" || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  return !!error && typeof error === "object" && "message" in error && "code" in error;
}

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorResponse(body)) {
    const { code, message, details } = body.error;
    return new ApiError(status, code, message, details ?? null);
  }
  return new ApiError(status, "http_" + status, `The API answered ${status}.`);
}

export function networkError(baseUrl: string, cause: unknown): ApiError {
  const where = baseUrl || window.location.origin;
  const why = cause instanceof Error ? ` (${cause.message})` : "";
  return new ApiError(0, "network_error", `The API at ${where} cannot be reached${why}.`);
}
