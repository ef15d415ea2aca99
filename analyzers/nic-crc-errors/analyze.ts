/**
 * nic_crc_errors: a physical NIC (or bond member) whose CRC/FCS error counter is rising.
 * Pure: observations + config in, findings out. Counter maths in core/counters.ts.
 */
import { z } from 'zod';
import { seriesIncrease, type CounterSample } from '../../core/counters.js';
import { makeFinding, type Evidence, type Finding, type Severity } from '../../core/finding.js';
import type { Observation, ObservationMap, ObservationReader } from '../../core/observation.js';

// The `nic.counters` kind is declared by collectors/nic (module augmentation); analyzers only see
// the observation map, never the collector's code.
type NicCounterSnapshot = ObservationMap['nic.counters'];
type CounterSourceKind = NicCounterSnapshot['source'];
type CanonicalCounter = keyof NicCounterSnapshot['counters'];

/** Classes where CRC/FCS errors mean a wire (README: virtual devices never count them). */
function crcRelevant(cls: string): boolean {
  return cls === 'physical' || cls === 'bond_member';
}

export const nicCrcConfigSchema = z
  .object({
    /** The window the increase is measured over, seconds. */
    windowSeconds: z.number().positive().default(300),
    /** CRC errors within the window that make a warning (scaled up when samples span more than the window). */
    minIncrease: z.number().int().positive().default(10),
    /** Average CRC errors per second over the window that make it critical. */
    criticalRatePerSecond: z.number().positive().default(1),
    /** Share of received frames with a CRC error that makes it critical (0.001 = 0.1 %). */
    criticalRatio: z.number().positive().max(1).default(0.001),
    /** Report an old CRC total that is not rising (or a single snapshot's total) as info. */
    reportStaticTotals: z.boolean().default(true),
  })
  .strict();

export type NicCrcConfig = z.infer<typeof nicCrcConfigSchema>;

const SOURCE_PREFERENCE: Record<CounterSourceKind, number> = { ethtool: 3, sysfs: 2, 'ip-link': 1, ovsdb: 0 };

type Snap = Observation<'nic.counters'>;

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtRate(r: number): string {
  return r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

function fmtPct(ratio: number): string {
  const p = ratio * 100;
  return `${p >= 1 ? p.toFixed(1) : p >= 0.01 ? p.toFixed(3) : p.toPrecision(2)} %`;
}

function samplesOf(series: readonly Snap[], c: CanonicalCounter): CounterSample[] | undefined {
  const out: CounterSample[] = [];
  for (const s of series) {
    const v = s.data.counters[c];
    if (v === undefined) return undefined; // a counter missing from one sample: no honest increase
    out.push({ value: v, at: s.at! });
  }
  return out;
}

/** The samples covering the window: the last one at or before (end − window) as the baseline, then the rest. */
function windowed(series: readonly Snap[], windowSeconds: number): Snap[] {
  const end = series[series.length - 1]!.at!;
  let start = 0;
  for (let i = 0; i < series.length; i++) if (series[i]!.at! <= end - windowSeconds * 1000) start = i;
  return series.slice(start);
}

interface IfaceGroup {
  host?: string;
  iface: string;
  bySource: Map<CounterSourceKind, Snap[]>;
  relevant: boolean;
  virtualSeen: boolean;
  bond?: string;
  driver?: string;
}

export function analyzeNicCrc(obs: ObservationReader, cfg: NicCrcConfig): Finding[] {
  const groups = new Map<string, IfaceGroup>();
  const keyOf = (host: string | undefined, iface: string) => `${host ?? ''}\0${iface}`;
  for (const o of obs.get('nic.counters')) {
    if (o.at === undefined) continue;
    const d: NicCounterSnapshot = o.data;
    const k = keyOf(o.host, d.interface);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { host: o.host, iface: d.interface, bySource: new Map(), relevant: false, virtualSeen: false }));
    let list = g.bySource.get(d.source);
    if (!list) g.bySource.set(d.source, (list = []));
    list.push(o);
    if (crcRelevant(d.class) || (d.source === 'ethtool' && d.class === 'other' && d.counters.crc_errors !== undefined)) g.relevant = true;
    else if (d.source !== 'ip-link' && ['veth', 'tap', 'tunnel', 'bridge', 'ovs_internal', 'loopback', 'vlan', 'bond'].includes(d.class)) g.virtualSeen = true;
    g.bond ??= d.bond;
    g.driver ??= d.driver;
  }
  for (const l of obs.get('net.link')) {
    const g = groups.get(keyOf(l.host, l.data.interface));
    if (!g) continue;
    if (crcRelevant(l.data.class)) g.relevant = true;
    if (l.data.class === 'bond_member') g.bond ??= l.data.master;
    g.driver ??= l.data.driver;
  }

  const findings: Finding[] = [];
  for (const g of groups.values()) {
    if (!g.relevant || g.virtualSeen) continue;
    // The source with the most samples carrying crc_errors; ties go to the port-level ethtool counters.
    let best: { source: CounterSourceKind; series: Snap[] } | undefined;
    for (const [source, list] of g.bySource) {
      const series = list.filter((s) => s.data.counters.crc_errors !== undefined).sort((a, b) => a.at! - b.at!);
      if (!series.length) continue;
      if (!best || series.length > best.series.length || (series.length === best.series.length && SOURCE_PREFERENCE[source] > SOURCE_PREFERENCE[best.source])) best = { source, series };
    }
    if (!best) continue;
    const f = judge(g, best.source, best.series, cfg);
    if (f) findings.push(f);
  }
  return findings;
}

function carrierChanges(g: IfaceGroup, windowSeconds: number): { increase?: number; total?: number } {
  let bestSeries: Snap[] | undefined;
  for (const list of g.bySource.values()) {
    const series = list.filter((s) => s.data.counters.carrier_changes !== undefined).sort((a, b) => a.at! - b.at!);
    if (series.length && (!bestSeries || series.length > bestSeries.length)) bestSeries = series;
  }
  if (!bestSeries) return {};
  const total = bestSeries[bestSeries.length - 1]!.data.counters.carrier_changes;
  if (bestSeries.length < 2) return { total };
  const w = windowed(bestSeries, windowSeconds);
  return w.length < 2 ? { total } : { increase: seriesIncrease(samplesOf(w, 'carrier_changes')!, 64).increase, total };
}

function judge(g: IfaceGroup, source: CounterSourceKind, series: Snap[], cfg: NicCrcConfig): Finding | undefined {
  const last = series[series.length - 1]!;
  const counterName = last.data.counterSources.crc_errors ?? 'crc_errors';
  const total = last.data.counters.crc_errors!;
  const bits = last.data.bits ?? 'auto';
  const subject: Record<string, unknown> = { interface: g.iface };
  if (g.bond) subject.bond = g.bond;
  const who = `${g.iface}${g.host ? ` on ${g.host}` : ''}${g.bond ? ` (member of ${g.bond})` : ''}`;
  const flaps = carrierChanges(g, cfg.windowSeconds);
  const baseMetrics: Record<string, unknown> = { source, counter: counterName, totalCrcErrors: total };
  if (g.driver) baseMetrics.driver = g.driver;
  if (flaps.increase !== undefined) baseMetrics.carrierChanges = flaps.increase;
  if (flaps.total !== undefined) baseMetrics.carrierChangesTotal = flaps.total;
  const flapText = flaps.increase ? `; carrier changed ${flaps.increase} time(s) (link flaps) in the same window` : '';

  if (series.length < 2) {
    if (total === 0 || !cfg.reportStaticTotals) return undefined;
    return makeFinding({
      kind: 'nic_crc_errors',
      severity: 'info',
      host: g.host,
      subject,
      summary: `${who}: ${fmt(total)} CRC/FCS errors counted since the driver loaded (${source} ${counterName}); only one sample, so whether they are still rising is unknown — collect a second snapshot to get a rate`,
      metrics: { ...baseMetrics, crcErrors: null, samples: 1 }, // one sample: the increase is unknown, not 0
      evidence: [{ source: last.source, excerpt: `${counterName}: ${total}` }],
      lastSeen: new Date(last.at!).toISOString(),
    });
  }

  const w = windowed(series, cfg.windowSeconds);
  const first = w[0]!;
  const crc = seriesIncrease(samplesOf(w, 'crc_errors')!, bits);
  const rxSamples = samplesOf(w, 'rx_packets');
  const rx = rxSamples ? seriesIncrease(rxSamples, bits) : undefined;
  const seconds = crc.seconds;
  // Samples rarely fall exactly on the window edge (a 15 s poll gives 300–315 s); only a span well
  // beyond the window (two snapshots an hour apart) scales the threshold up.
  const threshold = seconds > cfg.windowSeconds * 1.5 ? (cfg.minIncrease * seconds) / cfg.windowSeconds : cfg.minIncrease;
  const rate = crc.ratePerSecond;
  const ratio = rx && rx.increase + crc.increase > 0 ? crc.increase / (rx.increase + crc.increase) : undefined;
  const metrics: Record<string, unknown> = {
    ...baseMetrics,
    crcErrors: crc.increase,
    windowSeconds: seconds,
    samples: w.length,
    threshold: Math.round(threshold),
  };
  if (rate !== undefined) metrics.ratePerSecond = Number(rate.toFixed(4));
  if (rx) metrics.rxPackets = rx.increase;
  if (ratio !== undefined) metrics.errorRatio = Number(ratio.toPrecision(3));
  if (crc.reset) metrics.counterReset = true;
  if (crc.wrapped) metrics.counterWrapped = true;

  let severity: Severity;
  let summary: string;
  const numbers = `${fmt(crc.increase)} CRC/FCS errors in ${fmt(seconds)} s${rate !== undefined ? ` (${fmtRate(rate)}/s` : ''}${ratio !== undefined ? `, ${fmtPct(ratio)} of ${fmt(rx!.increase + crc.increase)} frames received` : ''}${rate !== undefined ? ')' : ''}, ${source} ${counterName}`;
  if (crc.increase >= threshold) {
    severity = (rate !== undefined && rate >= cfg.criticalRatePerSecond) || (ratio !== undefined && ratio >= cfg.criticalRatio) ? 'critical' : 'warning';
    summary = `${who}: ${numbers}${flapText} — a failing cable, optic or switch port corrupts frames on this link`;
  } else if (crc.increase > 0) {
    severity = 'info';
    summary = `${who}: ${numbers}, below the ${fmt(threshold)} needed to warn${flapText}`;
  } else {
    if (total === 0 || !cfg.reportStaticTotals) return undefined;
    severity = 'info';
    summary = `${who}: ${fmt(total)} CRC/FCS errors counted in the past, none in the last ${fmt(seconds)} s (${source} ${counterName}) — an old total, not a current problem${flapText}`;
  }
  if (crc.reset) summary += '; the counter was reset in between (driver reload), the increase counts from the reset';
  const evidence: Evidence[] = [
    { source: first.source, excerpt: `${counterName}: ${first.data.counters.crc_errors} at ${new Date(first.at!).toISOString()}` },
    { source: last.source, excerpt: `${counterName}: ${total} at ${new Date(last.at!).toISOString()}` },
  ];
  return makeFinding({
    kind: 'nic_crc_errors',
    severity,
    host: g.host,
    subject,
    summary,
    metrics,
    evidence,
    firstSeen: new Date(first.at!).toISOString(),
    lastSeen: new Date(last.at!).toISOString(),
  });
}
