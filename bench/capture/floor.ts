// Probe floor: builds and runs bench/capture/floor.c (empty tracepoint pair on write(), empty
// uprobe and uretprobe on a local function) and stores the result for the other benchmarks.
// usage: node --import tsx bench/capture/floor.ts [--writes N] [--calls N] [--rounds N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const { values } = parseArgs({ options: { writes: { type: 'string', default: '300000' }, calls: { type: 'string', default: '30000' }, rounds: { type: 'string', default: '5' } } });
const out = resolve(here, '../../bpf/.output');
execFileSync('make', ['-s', '-C', here], { stdio: 'inherit' });
const nm = execFileSync('nm', [join(out, 'floor')], { encoding: 'utf8' });
const m = / T floor_target$/m.exec(nm) ? new RegExp('^([0-9a-f]+) T floor_target$', 'm').exec(nm) : null;
if (!m) throw new Error('floor_target not found in the floor binary');
const res = JSON.parse(execFileSync(join(out, 'floor'), [join(out, 'floor.bpf.o'), `0x${m[1]}`, values.writes!, values.calls!, values.rounds!], { encoding: 'utf8' })) as Record<string, number>;
console.log(JSON.stringify(res));
const dir = resolve(here, '../results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'probe-floor.json'), JSON.stringify({ when: new Date().toISOString(), ...res }, null, 2));
