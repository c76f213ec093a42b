// Token estimates when a provider sends no usage: a real BPE tokenizer (o200k_base, the
// encoding of current OpenAI models; an approximation for other vendors' tokenizers), never a
// byte count. Records carrying estimates say `tokens_source: "estimated"`.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  try {
    return countTokens(text);
  } catch {
    // The tokenizer rejects some special-token strings; fall back to a plain-text pass.
    return countTokens(text.replace(/<\|/g, '< |'));
  }
}
