/**
 * Open-loop fan-out load: S senders in a room of C clients send at a fixed offered rate (the
 * schedule never waits for acks, so a slow server shows up as latency, not as a lower offered
 * rate). Send-to-receive latency is measured in this one process: the send time is kept in a map
 * by clientId and looked up when each of the C copies arrives, so no clocks are compared.
 */
import type { Client, FrameSink } from "./driver.ts";
import { sleep } from "./driver.ts";
import { benchTreeSeconds, cpuSeconds, machineBusySeconds } from "./procfs.ts";
import { type LatencySummary, Samples } from "./stats.ts";

interface Pending {
  sentAt: number;
  /** copies still to arrive */
  left: number;
  step: StepState;
  acked: boolean;
}

interface StepState {
  latency: Samples;
  ack: Samples;
  deliveries: number;
  expected: number;
  acks: number;
  sent: number;
  firstSendAt: number;
  lastDeliveryAt: number;
}

export interface StepResult {
  /** offered deliveries per second (messages/s x room size) */
  offered: number;
  messagesPerSec: number;
  sent: number;
  /** planned / actual duration of the send schedule (1 = the client kept up) */
  sendFidelity: number;
  /** the step stopped sending early because the server fell too far behind */
  aborted: boolean;
  deliveries: number;
  expected: number;
  /** deliveries per second from the first send to the last delivery */
  achieved: number;
  latency: LatencySummary;
  ack: LatencySummary;
  unacked: number;
  /** expected deliveries that had not arrived when the drain timed out */
  undelivered: number;
  serverCpuSec: number;
  serverCpuPerDeliveryUs: number;
  clientCpuSec: number;
  /** CPU the rest of the machine (not this bench's processes) used during the step, in cores */
  otherLoadCores: number;
  wallSec: number;
  pass: boolean;
  why: string;
  /** raw samples, for merging steps; not written to the JSON */
  samples?: { latency: Samples; ack: Samples };
}

export interface StepOptions {
  deliveriesPerSec: number;
  durationMs: number;
  drainTimeoutMs: number;
  p99LimitMs: number;
  /** stop sending once the oldest outstanding message is this old (the step then fails) */
  abortAfterMs: number;
}

const CONTENT_PAD = "the quick brown fox jumps over the lazy dog";

export class FanoutLoad implements FrameSink {
  private readonly pending = new Map<string, Pending>();
  private counter = 0;
  /** the highest seq any ack carried: the room's last seq as far as this load knows */
  maxAckedSeq = 0;
  private readonly clients: readonly Client[];
  private readonly senders: readonly Client[];
  private readonly serverPids: () => number[];
  private readonly tag: string;

  constructor(
    clients: readonly Client[],
    senders: readonly Client[],
    serverPids: () => number[],
    tag: string,
  ) {
    this.clients = clients;
    this.senders = senders;
    this.serverPids = serverPids;
    this.tag = tag;
    for (const c of clients) {
      c.sink = this;
    }
  }

  onReceive(_seq: number, clientId: string | null, now: number): void {
    if (clientId === null) {
      return;
    }
    const p = this.pending.get(clientId);
    if (!p) {
      return;
    }
    p.step.latency.add(now - p.sentAt);
    p.step.deliveries++;
    p.step.lastDeliveryAt = now;
    if (--p.left === 0 && p.acked) {
      this.pending.delete(clientId);
    }
  }

  onAck(clientId: string, seq: number, now: number): void {
    if (seq > this.maxAckedSeq) {
      this.maxAckedSeq = seq;
    }
    const p = this.pending.get(clientId);
    if (!p || p.acked) {
      return;
    }
    p.acked = true;
    p.step.acks++;
    p.step.ack.add(now - p.sentAt);
    if (p.left === 0) {
      this.pending.delete(clientId);
    }
  }

  /** Send time of the oldest message not yet fully delivered and acked (Map keeps insertion order). */
  private oldestOutstanding(): number | null {
    for (const p of this.pending.values()) {
      return p.sentAt;
    }
    return null;
  }

  /** Runs one step at a fixed offered rate, then waits for every copy to arrive (bounded). */
  async step(opts: StepOptions): Promise<StepResult> {
    const roomSize = this.clients.length;
    const messagesPerSec = opts.deliveriesPerSec / roomSize;
    const total = Math.max(1, Math.round((messagesPerSec * opts.durationMs) / 1000));
    const state: StepState = {
      latency: new Samples(),
      ack: new Samples(),
      deliveries: 0,
      expected: 0,
      acks: 0,
      sent: 0,
      firstSendAt: 0,
      lastDeliveryAt: 0,
    };
    const cpu0 = cpuSeconds(this.serverPids());
    const client0 = process.cpuUsage();
    const busy0 = machineBusySeconds();
    const tree0 = benchTreeSeconds();
    const t0 = performance.now();
    state.firstSendAt = t0;
    let senderIndex = 0;
    let aborted = false;
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now();
        const oldest = this.oldestOutstanding();
        if (oldest !== null && now - oldest > opts.abortAfterMs) {
          aborted = true;
          clearInterval(timer);
          done();
          return;
        }
        const due = Math.min(total, Math.floor(((now - t0) * messagesPerSec) / 1000) + 1);
        while (state.sent < due) {
          const sender = this.senders[senderIndex++ % this.senders.length] as Client;
          const clientId = `${this.tag}-${++this.counter}`;
          const content = `bench ${this.counter} ${CONTENT_PAD}`;
          this.pending.set(clientId, {
            sentAt: performance.now(),
            left: roomSize,
            step: state,
            acked: false,
          });
          sender.send(JSON.stringify({ type: "send_message", content, clientId }));
          state.sent++;
        }
        if (state.sent >= total) {
          clearInterval(timer);
          done();
        }
      };
      const timer = setInterval(tick, 1);
      tick();
    });
    state.expected = state.sent * roomSize;
    const sendEnd = performance.now();
    const drainDeadline = sendEnd + opts.drainTimeoutMs;
    while (
      (state.deliveries < state.expected || state.acks < state.sent) &&
      performance.now() < drainDeadline
    ) {
      await sleep(5);
    }
    const cpu1 = cpuSeconds(this.serverPids());
    const client1 = process.cpuUsage(client0);
    const wall = (performance.now() - t0) / 1000;
    const other = machineBusySeconds() - busy0 - (benchTreeSeconds() - tree0);
    const latency = state.latency.summary();
    const ack = state.ack.summary();
    const undelivered = state.expected - state.deliveries;
    const unacked = state.sent - state.acks;
    const span = Math.max(1, (state.lastDeliveryAt || sendEnd) - state.firstSendAt) / 1000;
    // The last message is due at (total - 1) / rate; a client that fell behind sends it later.
    const planned = ((state.sent - 1) * 1000) / messagesPerSec;
    const sendFidelity = Math.min(1, (planned + 20) / Math.max(1, sendEnd - t0));
    // Drop what is left of this step so a later step is not charged for it.
    for (const [id, p] of this.pending) {
      if (p.step === state) {
        this.pending.delete(id);
      }
    }
    const serverCpuSec = cpu1 - cpu0;
    const reasons: string[] = [];
    if (aborted) {
      reasons.push(
        `stopped after ${state.sent}/${total} sends: server over ${opts.abortAfterMs} ms behind`,
      );
    }
    if (undelivered > 0) {
      reasons.push(`${undelivered} not delivered within ${opts.drainTimeoutMs} ms`);
    }
    if (unacked > 0) {
      reasons.push(`${unacked} not acked`);
    }
    if (latency.p99 > opts.p99LimitMs) {
      reasons.push(`p99 ${latency.p99.toFixed(1)} ms > ${opts.p99LimitMs} ms`);
    }
    if (!aborted && sendFidelity < 0.9) {
      reasons.push(`client could not keep the send schedule (${(sendFidelity * 100).toFixed(0)}%)`);
    }
    return {
      offered: opts.deliveriesPerSec,
      messagesPerSec,
      sent: state.sent,
      sendFidelity,
      aborted,
      deliveries: state.deliveries,
      expected: state.expected,
      achieved: state.deliveries / span,
      latency,
      ack,
      unacked,
      undelivered,
      serverCpuSec,
      serverCpuPerDeliveryUs: state.deliveries > 0 ? (serverCpuSec * 1e6) / state.deliveries : 0,
      clientCpuSec: (client1.user + client1.system) / 1e6,
      otherLoadCores: Math.max(0, other / wall),
      wallSec: wall,
      pass: reasons.length === 0,
      why: reasons.join("; "),
      samples: { latency: state.latency, ack: state.ack },
    };
  }
}

/** One result for several steps at the same rate: samples pooled, counts and CPU summed. */
export function mergeSteps(steps: readonly StepResult[]): StepResult {
  const first = steps[0];
  if (!first) {
    throw new Error("mergeSteps: no steps");
  }
  const latency = new Samples();
  const ack = new Samples();
  let deliveries = 0;
  let expected = 0;
  let sent = 0;
  let unacked = 0;
  let undelivered = 0;
  let serverCpuSec = 0;
  let clientCpuSec = 0;
  let wallSec = 0;
  let other = 0;
  let achievedWeighted = 0;
  for (const s of steps) {
    if (s.samples) {
      latency.addAll(s.samples.latency);
      ack.addAll(s.samples.ack);
    }
    deliveries += s.deliveries;
    expected += s.expected;
    sent += s.sent;
    unacked += s.unacked;
    undelivered += s.undelivered;
    serverCpuSec += s.serverCpuSec;
    clientCpuSec += s.clientCpuSec;
    wallSec += s.wallSec;
    other += s.otherLoadCores * s.wallSec;
    achievedWeighted += s.achieved * s.wallSec;
  }
  const failed = steps.filter((s) => !s.pass);
  return {
    ...first,
    sent,
    sendFidelity: Math.min(...steps.map((s) => s.sendFidelity)),
    aborted: steps.some((s) => s.aborted),
    deliveries,
    expected,
    achieved: achievedWeighted / Math.max(1e-9, wallSec),
    latency: latency.summary(),
    ack: ack.summary(),
    unacked,
    undelivered,
    serverCpuSec,
    serverCpuPerDeliveryUs: deliveries > 0 ? (serverCpuSec * 1e6) / deliveries : 0,
    clientCpuSec,
    otherLoadCores: other / Math.max(1e-9, wallSec),
    wallSec,
    pass: failed.length === 0,
    why: failed.map((s) => s.why).join(" | "),
    samples: { latency, ack },
  };
}
