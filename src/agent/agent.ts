// The node agent: live capture -> stream assembly -> protocol layer -> LLM and retrieval call
// records -> enrichment -> outputs (Prometheus, OTLP, JSONL) and the SLO engine.
// `llmslo run` is a thin command around this class; tests drive it directly.
import { LiveCapture } from '../capture/live.ts';
import { CapturePipeline, monotonicNowNs } from '../capture/pipeline.ts';
import { parseCgroupPath, type ContainerRef, type PodResolver } from '../capture/containers.ts';
import { createCallPipeline, type CallPipeline } from '../llm/pipeline.ts';
import type { CallRecord } from '../llm/records.ts';
import { createOutputs, type Outputs } from '../export/outputs.ts';
import { BoundedMemo } from '../util/bounded_memo.ts';
import { SloRuntime } from '../slo/runtime.ts';
import type { AgentConfig } from './config.ts';

export interface AgentOptions {
  config: AgentConfig;
  log?: (msg: string) => void;
  /** Kubernetes enrichment seam (a later capability); null = container ids only. */
  pods?: PodResolver | null;
  /** Every enriched record, after the outputs got it (the demo's live view). */
  onRecord?: (rec: CallRecord) => void;
}

/** Container and process facts added to every record (the Kubernetes seam fills pod fields). */
export interface Enrichment {
  'process.executable.path': string | null;
  'container.id': string | null;
  'container.runtime': string | null;
  'k8s.pod.uid': string | null;
  'k8s.namespace.name'?: string;
  'k8s.pod.name'?: string;
  'k8s.container.name'?: string | null;
  'k8s.workload.name'?: string | null;
}

/** Shared, never modified: the reference of a process outside any container. */
const NO_CONTAINER: ContainerRef = Object.freeze(parseCgroupPath(null));

export class Agent {
  private capture: LiveCapture | null = null;
  private pipeline: CapturePipeline | null = null;
  private calls: CallPipeline | null = null;
  private outputs: Outputs | null = null;
  private slo: SloRuntime | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private lostSeen = 0;
  records = 0;
  /** parseCgroupPath per record costs several regular expressions: a node has few cgroups. */
  private readonly containerRefs = new BoundedMemo<string, ContainerRef>(4096, parseCgroupPath);

  constructor(private readonly opts: AgentOptions) {}

  get prometheusUrl(): string | null {
    return this.outputs?.prometheusUrl ?? null;
  }

  /** Capture health for displays: kernel records, lost records, undecodable records. */
  captureHealth(): { records: number; lost: number; undecodable: number } | null {
    if (!this.capture || !this.pipeline) return null;
    const s = this.capture.stats();
    return { records: s.records, lost: s.kernelByName.ringbuf_drops, undecodable: this.pipeline.decoder.badRecords };
  }

  /** Loads probes and starts every output. Throws with a one-line reason when it cannot. */
  async start(): Promise<void> {
    const { config } = this.opts;
    const log = this.opts.log ?? (() => {});
    const [host, port] = splitListen(config.outputs.prometheus.listen);
    this.outputs = await createOutputs({
      prometheus: config.outputs.prometheus.enabled ? { host, port } : false,
      otlp: config.outputs.otlp.endpoint
        ? {
            endpoint: config.outputs.otlp.endpoint,
            headers: config.outputs.otlp.headers,
            metrics: config.outputs.otlp.metrics,
            traces: config.outputs.otlp.traces,
            logs: config.outputs.otlp.logs ? 'records' : 'none',
            metricIntervalMs: config.outputs.otlp.export_interval_s * 1000,
          }
        : null,
      jsonl: config.outputs.jsonl.path ? { path: config.outputs.jsonl.path, onError: (m) => log(`jsonl: ${m}`) } : null,
      privacy: { includeExcerpts: config.privacy.keep_excerpts },
    });
    if (config.slo.specs.length) {
      this.slo = await SloRuntime.start({
        specFiles: config.slo.specs,
        statePath: config.slo.state_path,
        registry: this.outputs.registry,
        onAlert: (ev) => this.outputs?.onSloAlert(ev),
        onWarning: (m) => log(`slo: ${m}`),
      });
    }
    const capture = LiveCapture.open({
      payloadCap: config.capture.payload_cap,
      ringBytes: config.capture.ring_mb * 1024 * 1024,
      captureAll: config.capture.capture_all,
      capturePorts: config.capture.ports,
      excludeCgroups: config.capture.exclude_cgroups,
      tls: config.capture.tls,
      tlsRescanIntervalMs: config.capture.tls_rescan_s * 1000,
      // Records wait up to drain_interval_ms for the periodic drain unless wakeup_kb wake the
      // agent earlier; their timestamps are the kernel's, so no figure depends on either.
      drainIntervalMs: config.capture.drain_interval_ms,
      wakeupBytes: config.capture.wakeup_kb > 0 ? config.capture.wakeup_kb * 1024 : undefined,
      log,
    });
    this.capture = capture;
    const pipelineRef: { p: CapturePipeline | null } = { p: null };
    this.calls = createCallPipeline(
      {
        resolveComm: (pid) => pipelineRef.p?.processes.get(pid).comm ?? null,
        keepExcerpts: config.privacy.keep_excerpts ? { maxChars: 200 } : false,
        retrieval: config.records.retrieval,
        serverRequests: config.records.server_requests,
        mirroredServer: config.records.mirrored_server_side,
        muteConnection: (connId, keep) => capture.muteConnection(connId, keep),
      },
      (rec) => this.onRecord(rec),
    );
    this.pipeline = new CapturePipeline({ payloadCap: config.capture.payload_cap, sink: this.calls });
    pipelineRef.p = this.pipeline;
    const pipeline = this.pipeline;
    capture.onBatch((b) => pipeline.feedBatch(b));
    capture.onTick((now) => pipeline.tick(now));
    if (config.capture.bpf_stats) capture.enableRunTimeStats();
    capture.start();
    this.statsTimer = setInterval(() => this.publishStats(), 5000);
    this.statsTimer.unref();
  }

  private onRecord(rec: CallRecord): void {
    this.records++;
    const enriched = Object.assign(rec, this.enrich(rec.process.pid));
    this.outputs?.onRecord(enriched);
    this.slo?.observe(enriched);
    this.opts.onRecord?.(enriched);
  }

  private enrich(pid: number): Enrichment {
    const p = this.pipeline?.processes.get(pid);
    const path = p?.cgroupPath ?? null;
    const ref = path === null ? NO_CONTAINER : this.containerRefs.get(path);
    const e: Enrichment = {
      'process.executable.path': p?.exe ?? null,
      'container.id': ref.containerId,
      'container.runtime': ref.runtime,
      'k8s.pod.uid': ref.podUid,
    };
    const pod = this.opts.pods?.resolve(ref);
    if (pod) {
      e['k8s.namespace.name'] = pod.namespace;
      e['k8s.pod.name'] = pod.pod;
      e['k8s.container.name'] = pod.container;
      e['k8s.workload.name'] = pod.workload;
    }
    return e;
  }

  private publishStats(): void {
    if (!this.capture || !this.pipeline || !this.calls || !this.outputs) return;
    const s = this.capture.stats();
    const lost = s.kernelByName.ringbuf_drops;
    if (lost > this.lostSeen) {
      // Tell the protocol layer its streams may have gaps it cannot see.
      this.pipeline.assembler.reportLoss(monotonicNowNs(), lost - this.lostSeen);
      this.lostSeen = lost;
    }
    const programs = this.opts.config.capture.bpf_stats ? this.capture.programStats() : undefined;
    this.outputs.onCaptureStats({ kernel: s, programs, decoder: this.pipeline.decoder, pipeline: this.calls.stats() });
  }

  /** Drains the ring, flushes open calls and every output. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    if (this.capture) {
      this.capture.drain();
      this.publishStats();
      this.pipeline?.flush(monotonicNowNs());
      this.capture.close();
      this.capture = null;
    }
    await this.slo?.stop();
    this.slo = null;
    await this.outputs?.shutdown();
    this.outputs = null;
  }
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), Number(listen.slice(i + 1))];
}
