// Hot-path shortcuts: most stream events are plain content deltas whose only news is "one more
// content chunk" (+ its text, for token estimation). Recognising them by their exact shape
// avoids a JSON.parse per event, which dominates parser cost. Anything that does not match the
// strict shape returns null and takes the full JSON path, so a shortcut can only ever skip
// work, never guess: it requires the exact delta shape and the absence of every field the full
// path would act on (finish reasons, usage, errors, tool calls, extra choices).

/**
 * Read the JSON string whose opening quote is just before `start`. Returns the decoded text and
 * the index just past the closing quote, or null if malformed.
 */
export function readJsonString(s: string, start: number): { text: string; end: number } | null {
  let p = start;
  let escaped = false;
  for (;;) {
    const q = s.indexOf('"', p);
    if (q < 0) return null;
    // count backslashes before the quote
    let b = q - 1;
    while (b >= start && s.charCodeAt(b) === 92) b--;
    if ((q - 1 - b) % 2 === 1) {
      escaped = true;
      p = q + 1;
      continue;
    }
    const raw = s.slice(start, q);
    if (!escaped && raw.indexOf('\\') < 0) return { text: raw, end: q + 1 };
    try {
      return { text: JSON.parse(`"${raw}"`) as string, end: q + 1 };
    } catch {
      return null;
    }
  }
}

const OAI_DELTA = '"delta":{"content":"';
const CHOICE0 = '"choices":[{"index":0,';
const AZURE_PREFIX = '{"choices":[{"content_filter_results":';
const AZURE_AFTER = ',"finish_reason":null,"index":0,';

/** OpenAI-style chat chunk with one choice whose delta is exactly {"content":"<non-empty>"}. */
export function fastOpenAiContent(data: string): string | null {
  if (data.charCodeAt(0) !== 123) return null;
  const i = data.indexOf(OAI_DELTA);
  if (i < 0) return null;
  const start = i + OAI_DELTA.length;
  if (data.charCodeAt(start) === 34) return null; // empty content: let the full path decide
  const str = readJsonString(data, start);
  if (str === null || data.charCodeAt(str.end) !== 125) return null; // delta must end here
  if (!data.startsWith(CHOICE0, i - CHOICE0.length)) {
    // Azure OpenAI sorts keys: {"choices":[{"content_filter_results":{…},"delta":{…},
    // "finish_reason":null,"index":0,…}],…}: the choice's own fields follow the delta.
    if (!data.startsWith(AZURE_PREFIX) || !data.startsWith(AZURE_AFTER, str.end + 1)) return null;
    const rest = str.end + 1 + AZURE_AFTER.length;
    if (data.indexOf('"index":', rest) >= 0 || data.indexOf('"error"', rest) >= 0) return null;
    const u = data.indexOf('"usage":', rest);
    if (u >= 0 && !data.startsWith('null', u + 8)) return null;
    return str.text;
  }
  // Before the delta there is exactly the first choice's opening; the fields the full path
  // acts on (finish_reason, usage, error, more choices, llama.cpp timings) can then only follow.
  const fin = data.indexOf('"finish_reason":', str.end);
  if (fin < 0 || !data.startsWith('null', fin + 16)) return null;
  const u = data.indexOf('"usage":', str.end);
  if (u >= 0 && !data.startsWith('null', u + 8)) return null;
  if (data.indexOf('"index":', str.end) >= 0 || data.indexOf('"error"', str.end) >= 0 || data.indexOf('"timings"', str.end) >= 0) return null;
  return str.text;
}

const ANTH_PREFIX = '{"type":"content_block_delta"';
const ANTH_FIELDS: [string, boolean][] = [
  ['"type":"text_delta","text":"', true],
  ['"type":"input_json_delta","partial_json":"', true],
  ['"type":"thinking_delta","thinking":"', false],
];

/** Anthropic content_block_delta with non-empty text/partial_json/thinking. `keep` says whether it is completion text. */
export function fastAnthropicDelta(data: string): { text: string; keep: boolean } | null {
  if (!data.startsWith(ANTH_PREFIX)) return null;
  for (const [needle, keep] of ANTH_FIELDS) {
    const i = data.indexOf(needle, ANTH_PREFIX.length);
    if (i < 0) continue;
    const start = i + needle.length;
    if (data.charCodeAt(start) === 34) return null;
    const str = readJsonString(data, start);
    if (str === null) return null;
    return { text: str.text, keep };
  }
  return null;
}

const RESP_DELTA = '"delta":"';

/** Responses API `response.*.delta` event with a non-empty string delta. */
export function fastResponsesDelta(data: string): string | null {
  const i = data.indexOf(RESP_DELTA);
  if (i < 0 || data.indexOf('"error"') >= 0) return null;
  const start = i + RESP_DELTA.length;
  if (data.charCodeAt(start) === 34) return null;
  const str = readJsonString(data, start);
  return str === null ? null : str.text;
}

const OLLAMA_CHAT = '"message":{"role":"assistant","content":"';
const OLLAMA_GEN = '"response":"';
const OLLAMA_END = '"done":false}';

/** Ollama NDJSON line that is a plain non-final content line. */
export function fastOllamaContent(line: string): string | null {
  if (!line.startsWith('{"model":"') || !line.endsWith(OLLAMA_END)) return null;
  let i = line.indexOf(OLLAMA_CHAT);
  let start: number;
  if (i >= 0) start = i + OLLAMA_CHAT.length;
  else {
    i = line.indexOf(OLLAMA_GEN);
    if (i < 0) return null;
    start = i + OLLAMA_GEN.length;
  }
  if (line.charCodeAt(start) === 34) return null;
  const str = readJsonString(line, start);
  if (str === null) return null;
  // chat: the message object must close right after content (no tool_calls/thinking/images)
  if (i >= 0 && line.startsWith(OLLAMA_CHAT, i) && line.charCodeAt(str.end) !== 125) return null;
  if (line.indexOf('"error"') >= 0 || line.indexOf('"thinking"') >= 0) return null;
  return str.text;
}
