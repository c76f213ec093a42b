// Token estimates when a provider sends no usage: a real BPE tokenizer (o200k_base, the
// encoding of current OpenAI models; an approximation for other vendors' tokenizers), never a
// byte count. Records carrying estimates say `tokens_source: "estimated"`.
//
// The tokenizer's tables cost ~0.5 s and ~35 MB of heap to load, so they are loaded on the
// first estimate only (synchronously, from the package's CommonJS build).
import { createRequire } from 'node:module';

type CountFn = (text: string) => number;
let counter: CountFn | null = null;

function load(): CountFn {
  if (counter === null) {
    const require = createRequire(import.meta.url);
    const mod = require('gpt-tokenizer/cjs/encoding/o200k_base') as { countTokens: CountFn };
    counter = mod.countTokens;
  }
  return counter;
}

export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  const count = load();
  try {
    return count(text);
  } catch {
    // The tokenizer rejects some special-token strings; fall back to a plain-text pass.
    return count(text.replace(/<\|/g, '< |'));
  }
}
