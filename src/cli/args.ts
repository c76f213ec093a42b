// Thin wrapper over node:util parseArgs that turns parse failures into one-line CliErrors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<T extends OptionSpec>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (err) {
    // Node's messages can span lines ("argument is ambiguous ... Did you forget ..."): keep one.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
    const hint = first.includes('argument is ambiguous') ? " (values starting with '-' need --option=VALUE)" : '';
    throw new CliError(`${command}: ${first}${hint}`, 2);
  }
}

/** Parses a number option, rejecting NaN, negatives and junk with a message naming the option. */
export function numberOption(command: string, name: string, value: string | undefined, fallback: number, opts: { min?: number; integer?: boolean } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new CliError(`${command}: --${name} must be ${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got '${value}'`, 2);
  }
  return n;
}
