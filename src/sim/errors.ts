// A problem with a control request, profile or API request that the caller must fix:
// answered with HTTP 400 and this one-line message, never a crash.
export class SimInputError extends Error {
  override name = 'SimInputError';
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
