/** The API's one error shape, {error, code, details}, as an Error the UI can show. */

export interface FieldError {
  field: string;
  message: string;
}

interface ErrorBody {
  error?: unknown;
  code?: unknown;
  details?: unknown;
}

function isFieldErrorList(details: unknown): details is FieldError[] {
  return (
    Array.isArray(details) &&
    details.every((d) => d && typeof d === "object" && typeof d.field === "string" && typeof d.message === "string")
  );
}

/** "body.email" → "email"; "body.scopes.0" → "scopes"; "query.brandId" → "brandId". */
export function fieldName(location: string): string {
  const parts = location.split(".");
  if (["body", "query", "path", "header"].includes(parts[0] ?? "")) parts.shift();
  return parts.filter((p) => !/^\d+$/.test(p)).join(".") || location;
}

/** Pydantic prefixes custom messages with "Value error, "; users do not need that. */
function tidy(message: string): string {
  return message.replace(/^Value error, /, "");
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Messages by form field name, for 422 answers. */
  readonly fields: Record<string, string>;

  constructor(status: number, body: unknown) {
    const b: ErrorBody = body && typeof body === "object" ? (body as ErrorBody) : {};
    super(typeof b.error === "string" ? b.error : `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof b.code === "string" ? b.code : "unknown";
    this.details = b.details;
    this.fields = {};
    if (isFieldErrorList(b.details)) {
      for (const { field, message } of b.details) {
        const name = fieldName(field);
        this.fields[name] ??= tidy(message);
      }
    }
  }

  /** Field errors that no form field displayed: shown in the form's summary instead of being lost. */
  unclaimed(shownFields: readonly string[]): string[] {
    return Object.entries(this.fields)
      .filter(([name]) => !shownFields.includes(name))
      .map(([name, message]) => `${name}: ${message}`);
  }
}

/** Something went wrong before an answer arrived (offline, server down). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("Cannot reach T21. Check your connection and try again.", { cause });
    this.name = "NetworkError";
  }
}

interface OpenApiFetchResult<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/**
 * Turns openapi-fetch's {data, error, response} into a value or a thrown ApiError, which is what
 * TanStack Query wants. 204 answers resolve to undefined.
 */
export async function unwrap<D>(call: Promise<OpenApiFetchResult<D>>): Promise<D> {
  let result: OpenApiFetchResult<D>;
  try {
    result = await call;
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error);
  return result.data as D;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
