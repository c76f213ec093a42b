/**
 * Percent-decodes a path segment taken from captured traffic. Malformed escapes (`%zz`, a lone
 * `%`, invalid UTF-8) are common in garbage or truncated bytes; they keep the raw text instead of
 * throwing out of the parser.
 */
export function decodeSegment(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
