import { ApiError, errorMessage } from "../api/errors";

/**
 * The form-level message for a failed submit. Field errors are shown beside their fields; this shows
 * the sentence, plus any field error whose field the form does not have (so nothing is swallowed).
 */
export function FormError({ error, fields = [] }: { error: unknown; fields?: readonly string[] }) {
  if (!error) return null;
  const extra = error instanceof ApiError ? error.unclaimed(fields) : [];
  const hasFieldErrors = error instanceof ApiError && Object.keys(error.fields).length > 0;
  return (
    <div className="alert alert-error" role="alert">
      {hasFieldErrors ? "Please correct the highlighted fields." : errorMessage(error)}
      {extra.length > 0 && (
        <ul>
          {extra.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The message for one field, if the last submit failed because of it. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.fields[field] : undefined;
}
