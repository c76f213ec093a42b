// Learned shapes of a stream's plain content chunks: the hot path of the protocol layer.
//
// Within one stream, content chunks differ only in their text and in a few fields the adapters
// never read (OpenAI's random `obfuscation`, Responses' `sequence_number`, Ollama's
// `created_at`, Anthropic's whitespace padding). After an adapter has fully parsed a chunk and
// found it to be a plain content chunk, its text is cut into literal segments and holes:
//
//   {"id":"chatcmpl-1",…,"delta":{"content":"<TEXT>"},…,"obfuscation":"<SKIP>"}<WS>
//
// A later chunk whose literals are identical, character for character, is the same JSON value
// except in the holes, so the full path would conclude exactly "one more content chunk with this
// text": the template can only skip work, never guess. Anything else (a finish reason, usage,
// an error, a different event) differs in a literal and takes the full JSON path.
//
// Numbers an adapter reads from every content chunk (Gemini's cumulative usage counts) are
// holes too: captured, and handed to the adapter (Adapter.onTemplateNumbers) as the values the
// full path would have read at the same places.
//
// Cost: one compiled regular-expression match per chunk (~0.3 µs for an OpenAI chunk) instead
// of a JSON.parse (~3 µs).

/** Recently learned templates, most recent first (shared: templates are immutable). */
const RECENT: ContentTemplate[] = [];
const RECENT_MAX = 16;

const enum Hole {
  /** The content string's characters (between its quotes). */
  Text,
  /** A string value nobody reads (between its quotes). */
  SkipString,
  /** A number value nobody reads. */
  SkipNumber,
  /** Optional whitespace outside strings. */
  Space,
  /** A number the adapter reads (captured; see ContentShape.numbers). */
  ReadNumber,
}

/** What an adapter found in a plain content chunk (nothing else in it mattered to the adapter). */
export interface ContentShape {
  /** Key of the string value holding the text (`content`, `delta`, `text`, `response`, …). */
  key: string;
  text: string;
  /** Whether the text is completion text (kept for token estimation) or e.g. reasoning. */
  keep: boolean;
  /**
   * Numbers the adapter read from the chunk, by key (each key must occur exactly once in it,
   * with this value): matched chunks hand theirs to Adapter.onTemplateNumbers.
   */
  numbers?: Readonly<Record<string, number>>;
}

interface Token {
  hole: Hole;
  /** The key of a read number. */
  key?: string;
  /** First character of the hole (after the opening quote for strings). */
  start: number;
  /** Just past the hole (at the closing quote for strings). */
  end: number;
}

export class ContentTemplate {
  /**
   * The template compiled to a regular expression: irregexp compares literal runs several
   * characters at a time in machine code, several times faster than slicing and comparing.
   */
  private readonly re: RegExp;
  /**
   * The same shape as a whole SSE event at a position (sticky): optional `event:` line, one
   * `data:` line, blank line. Lets the SSE parser hand over a content event without slicing it.
   */
  readonly sseEvent: RegExp;
  /**
   * Fewest characters an SSE event of this shape can have (its literals, `data:`, two LFs, the
   * event line): a shorter rest of a piece is an event cut by the read, not worth a match.
   */
  readonly minSseEventLength: number;
  /** sseEvent with a non-empty text and no capture: for when the text itself is not needed. */
  private readonly sseEventTest: RegExp;
  /** Capture group of the text (read-number holes before it come first). */
  private readonly textGroup: number;
  /** Keys of the read-number holes in order, or null when there are none. */
  readonly readKeys: readonly string[] | null;
  /**
   * Values of the read-number holes of the last successful match or matchSseEvent (valid until
   * the next one; reused, so no allocation per chunk).
   */
  readonly numbers: number[] = [];
  /** The read keys as one string (in any order), to tell templates with other read keys apart. */
  private readonly readKeysId: string;

  private constructor(
    /** SSE event name the template applies to (null: no `event:` field). */
    readonly event: string | null,
    readonly keep: boolean,
    /**
     * The call's provider once the adapter had read the learning chunk. Adapters refine a
     * generic provider from literal fields (a system fingerprint, vendor keys): a call with the
     * same provider would have drawn nothing more from a matching chunk.
     */
    readonly provider: string,
    /** The adapter's skip keys the template was cut with (a template is only reused with them). */
    private readonly skipKeys: ReadonlySet<string>,
    /** literals[i] precedes holes[i]; the last literal ends the chunk. */
    literals: string[],
    holes: Hole[],
    readKeys: string[],
  ) {
    // body: the text captured; testBody: the text only required to be non-empty
    let body = '';
    let testBody = '';
    let group = 0;
    let textGroup = 0;
    for (let i = 0; i < holes.length; i++) {
      const lit = escapeRegExp(literals[i]!);
      const hole = holes[i]!;
      if (hole === Hole.Text || hole === Hole.ReadNumber) group++;
      if (hole === Hole.Text) textGroup = group;
      body += lit + HOLE_PATTERN[hole];
      testBody += lit + (hole === Hole.Text ? TEXT_PRESENT : hole === Hole.ReadNumber ? NUMBER : HOLE_PATTERN[hole]);
    }
    this.textGroup = textGroup;
    this.readKeys = readKeys.length > 0 ? readKeys : null;
    this.readKeysId = keysId(readKeys);
    const tail = escapeRegExp(literals[holes.length]!);
    body += tail;
    testBody += tail;
    this.re = new RegExp(`^${body}$`);
    // SSE strips one space after the colon; any other line in the event makes it not match.
    // Lines end in LF or CRLF (Gemini), each complete within the piece; a bare CR (also valid
    // SSE) and a CRLF cut between pieces are left to the line parser.
    const eventLine = event === null ? '' : String.raw`event: ?${escapeRegExp(event)}\r?\n`;
    this.sseEvent = new RegExp(String.raw`${eventLine}data: ?${body}\r?\n\r?\n`, 'y');
    this.sseEventTest = new RegExp(String.raw`${eventLine}data: ?${testBody}\r?\n\r?\n`, 'y');
    let literalChars = 0;
    for (const lit of literals) literalChars += lit.length;
    this.minSseEventLength = literalChars + 'data:\n\n'.length + (event === null ? 0 : 'event:\n'.length + event.length);
  }

  /**
   * The template for a content chunk the adapter just read: a recently used one when it matches
   * the chunk exactly (streams of one model share their shape, and compiling a regular
   * expression per call would cost more than a short stream's parsing), else a new one.
   */
  static forChunk(data: string, event: string | null, shape: ContentShape, skipKeys: ReadonlySet<string>, provider: string): ContentTemplate | null {
    const recent = RECENT;
    const readKeysId = shape.numbers === undefined ? '' : keysId(Object.keys(shape.numbers));
    for (let i = 0; i < recent.length; i++) {
      const t = recent[i]!;
      if (t.event === event && t.keep === shape.keep && t.skipKeys === skipKeys && t.provider === provider && t.readKeysId === readKeysId && t.match(data) === shape.text) return promote(i);
    }
    const t = ContentTemplate.learn(data, event, shape, skipKeys, provider);
    if (t !== null) {
      recent.unshift(t);
      if (recent.length > RECENT_MAX) recent.pop();
    }
    return t;
  }

  /**
   * Cut `data` into a template, or null when the shape is not one the template can represent
   * (text key missing or repeated, text not matching, malformed JSON).
   */
  static learn(data: string, event: string | null, shape: ContentShape, skipKeys: ReadonlySet<string>, provider: string): ContentTemplate | null {
    const numbers = shape.numbers ?? NO_NUMBERS;
    const tokens = scanHoles(data, shape.key, skipKeys, numbers);
    if (tokens === null) return null;
    let textHoles = 0;
    const readKeys: string[] = [];
    for (const t of tokens) {
      if (t.hole === Hole.ReadNumber) {
        // each number the adapter read must be the one at this place, found once
        if (readKeys.includes(t.key!) || Number(data.slice(t.start, t.end)) !== numbers[t.key!]) return null;
        readKeys.push(t.key!);
      }
      if (t.hole !== Hole.Text) continue;
      textHoles++;
      if (t.end === t.start || readString(data, t.start, t.end) !== shape.text) return null;
    }
    if (textHoles !== 1 || readKeys.length !== Object.keys(numbers).length) return null;
    // Anthropic pads before the final brace with a varying number of spaces (possibly none).
    const last = data.length - 1;
    if (data.charCodeAt(last) === 125 && !tokens.some((t) => t.hole === Hole.Space && t.end === last)) tokens.push({ hole: Hole.Space, start: last, end: last });
    tokens.sort((a, b) => a.start - b.start);
    const literals: string[] = [];
    const holes: Hole[] = [];
    let pos = 0;
    for (const t of tokens) {
      literals.push(data.slice(pos, t.start));
      holes.push(t.hole);
      pos = t.end;
    }
    literals.push(data.slice(pos));
    // read keys in the order their holes occur (the tokens were sorted). The literals are only
    // compiled into the expressions, which do not keep the learning chunk's piece alive.
    const ordered = tokens.filter((t) => t.hole === Hole.ReadNumber).map((t) => t.key!);
    return new ContentTemplate(event, shape.keep, provider, skipKeys, literals, holes, ordered);
  }

  /**
   * A recently learned template (of another call) that `data` matches, for a call whose adapter
   * says its state is ready for templates (`Adapter.templatesReady`): the first content chunk of
   * a stream then skips its JSON parse too. Null when templates for this event, key set and
   * provider were tried and none matched; undefined when there was none to try.
   */
  static recentFor(data: string, event: string | null, skipKeys: ReadonlySet<string>, provider: string): ContentTemplate | null | undefined {
    let tried = false;
    for (let i = 0; i < RECENT.length; i++) {
      const t = RECENT[i]!;
      if (t.event !== event || t.skipKeys !== skipKeys || t.provider !== provider) continue;
      if (t.re.test(data)) return promote(i);
      tried = true;
    }
    return tried ? null : undefined;
  }

  /** Forget every learned template (tests: the cache is shared by all calls of the process). */
  static forgetRecent(): void {
    RECENT.length = 0;
  }

  /** The chunk's text if `data` has this template's shape, else null (numbers: see `numbers`). */
  match(data: string): string | null {
    const m = this.re.exec(data);
    return m === null ? null : this.textAndNumbers(m);
  }

  /**
   * At `pos` of an SSE piece: the event's text if the whole event has this shape (its end is
   * then `sseEventEnd`), else null.
   */
  matchSseEvent(s: string, pos: number): string | null {
    const re = this.sseEvent;
    re.lastIndex = pos;
    const m = re.exec(s);
    return m === null ? null : this.textAndNumbers(m);
  }

  /** Where the event last matched by matchSseEvent ends (after its blank line). */
  get sseEventEnd(): number {
    return this.sseEvent.lastIndex;
  }

  private textAndNumbers(m: RegExpExecArray): string | null {
    const text = textOf(m[this.textGroup]!);
    if (text !== null && this.readKeys !== null) {
      const numbers = this.numbers;
      numbers.length = 0;
      for (let g = 1; g < m.length; g++) if (g !== this.textGroup) numbers.push(Number(m[g]));
    }
    return text;
  }

  /**
   * Like matchSseEvent when the text is not needed: where the event ends if it has this shape
   * and a non-empty text, else -1. Allocates nothing (no match array, no text string). Not for
   * templates with read keys (their numbers are captured by matchSseEvent).
   */
  testSseEvent(s: string, pos: number): number {
    const re = this.sseEventTest;
    re.lastIndex = pos;
    return re.test(s) ? re.lastIndex : -1;
  }
}

/** Moves RECENT[i] to the front (most recently used) and returns it. */
function promote(i: number): ContentTemplate {
  const t = RECENT[i]!;
  if (i > 0) {
    RECENT.splice(i, 1);
    RECENT.unshift(t);
  }
  return t;
}

const NO_NUMBERS: Readonly<Record<string, number>> = {};

function keysId(keys: readonly string[]): string {
  return [...keys].sort().join(',');
}

/** The matched text, or null when empty (the full path counts an empty text as no content). */
function textOf(raw: string): string | null {
  if (raw.length === 0) return null;
  return raw.indexOf('\\') < 0 ? raw : decodeRaw(raw);
}

/** Decode the characters of a JSON string (between its quotes). */
function decodeRaw(raw: string): string | null {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return null;
  }
}

/** A JSON number, nothing looser (what matches, Number() reads as JSON.parse would). */
const NUMBER = String.raw`-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?`;

/** The characters of a JSON string: plain runs between valid escapes (no line ends anywhere). */
const JSON_CHARS = String.raw`[^"\\\n\r]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\n\r]*)*`;

/**
 * Regular-expression source of each hole. A JSON string's characters are a plain character or
 * a backslash escape; line ends are excluded everywhere (invalid inside JSON strings anyway, and
 * in SSE they would end the data line), so a match never spans lines.
 */
const HOLE_PATTERN: Record<Hole, string> = {
  // "unrolled loop" form: runs of plain characters between escapes, no per-character
  // alternation; only JSON's own escapes, so whatever matches decodes
  [Hole.Text]: `(${JSON_CHARS})`, // emptiness is checked by textOf()
  [Hole.SkipString]: JSON_CHARS,
  [Hole.SkipNumber]: NUMBER,
  [Hole.Space]: '[ \\t]*',
  [Hole.ReadNumber]: `(${NUMBER})`,
};

/** A Text hole whose text must be non-empty (the lookahead refuses a closing quote at once). */
const TEXT_PRESENT = `(?=[^"])${JSON_CHARS}`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

/** Index of the quote closing a JSON string whose characters start at `from`, or -1. */
function closingQuote(s: string, from: number): number {
  let p = from;
  for (;;) {
    const q = s.indexOf('"', p);
    if (q < 0) return -1;
    let b = q - 1;
    while (b >= from && s.charCodeAt(b) === 92) b--;
    if ((q - 1 - b) % 2 === 0) return q; // an even number of backslashes: the quote is real
    p = q + 1;
  }
}

/** Decode the JSON string characters s[start, end). */
function readString(s: string, start: number, end: number): string | null {
  const raw = s.slice(start, end);
  if (raw.indexOf('\\') < 0) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return null;
  }
}

/**
 * One pass over a JSON text: the holes of a template (the text value under `textKey`, values
 * under `skipKeys`, whitespace outside strings). Null when the text is not well-formed enough.
 */
function scanHoles(s: string, textKey: string, skipKeys: ReadonlySet<string>, readNumbers: Readonly<Record<string, number>>): Token[] | null {
  const tokens: Token[] = [];
  const len = s.length;
  let lastKey: string | null = null;
  let i = 0;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      const from = i;
      while (i < len && isSpace(s.charCodeAt(i))) i++;
      tokens.push({ hole: Hole.Space, start: from, end: i });
      continue;
    }
    if (c === 34) {
      const q = closingQuote(s, i + 1);
      if (q < 0) return null;
      // a key is followed (after optional whitespace) by a colon
      let j = q + 1;
      while (j < len && isSpace(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 58) lastKey = readString(s, i + 1, q);
      else if (lastKey === textKey) tokens.push({ hole: Hole.Text, start: i + 1, end: q });
      else if (lastKey !== null && skipKeys.has(lastKey)) tokens.push({ hole: Hole.SkipString, start: i + 1, end: q });
      i = q + 1;
      continue;
    }
    if ((c >= 48 && c <= 57) || c === 45) {
      const from = i;
      while (i < len && isNumberChar(s.charCodeAt(i))) i++;
      if (lastKey !== null && Object.hasOwn(readNumbers, lastKey)) tokens.push({ hole: Hole.ReadNumber, key: lastKey, start: from, end: i });
      else if (lastKey !== null && skipKeys.has(lastKey)) tokens.push({ hole: Hole.SkipNumber, start: from, end: i });
      continue;
    }
    i++;
  }
  return tokens;
}
