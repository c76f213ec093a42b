// Options shared by the commands that load the probes (capture, record, run).
import { numberOption, type OptionSpec } from '../args.ts';
import { DEFAULT_PAYLOAD_CAP, type LiveCaptureOptions } from '../../capture/live.ts';
import { CliError } from '../errors.ts';

export const captureOptionSpec = {
  options: {
    'payload-cap': { type: 'string' },
    'ring-mb': { type: 'string' },
    'capture-all': { type: 'boolean' },
    'port': { type: 'string', multiple: true },
    'no-tls': { type: 'boolean' },
  } satisfies OptionSpec,
  help: `capture options:
  --payload-cap N  max payload bytes captured per read/write (default ${DEFAULT_PAYLOAD_CAP}, 64..262144)
  --ring-mb N      ring buffer size in MiB, power of two (default 16)
  --capture-all    ship payloads of every TCP connection, not only HTTP-looking ones
  --port P         always ship payloads of connections on port P (repeatable)
  --no-tls         do not attach the OpenSSL uprobes`,
};

interface CaptureValues {
  'payload-cap'?: string;
  'ring-mb'?: string;
  'capture-all'?: boolean;
  port?: string[];
  'no-tls'?: boolean;
}

export function liveOptionsFrom(command: string, v: CaptureValues): LiveCaptureOptions {
  const ringMb = numberOption(command, 'ring-mb', v['ring-mb'], 16, { min: 1, integer: true });
  if ((ringMb & (ringMb - 1)) !== 0) throw new CliError(`${command}: --ring-mb must be a power of two, got ${ringMb}`, 2);
  const ports = (v.port ?? []).map((p) => numberOption(command, 'port', p, 0, { min: 1, integer: true }));
  if (ports.some((p) => p > 65535)) throw new CliError(`${command}: --port must be 1..65535`, 2);
  return {
    payloadCap: numberOption(command, 'payload-cap', v['payload-cap'], DEFAULT_PAYLOAD_CAP, { min: 64, integer: true }),
    ringBytes: ringMb * 1024 * 1024,
    captureAll: v['capture-all'] ?? false,
    capturePorts: ports,
    tls: !v['no-tls'],
  };
}
