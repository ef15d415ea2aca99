import { describe, expect, it } from 'vitest';
import { counterDelta, seriesIncrease } from '../../../core/counters.js';
import { ObservationStore } from '../../../core/observation.js';
import { analyzeNicCrc, nicCrcConfigSchema } from '../../../analyzers/nic-crc-errors/analyze.js';
import type { NicCounterSnapshot } from '../../../collectors/nic/types.js';

const T0 = Date.parse('2026-11-20T03:00:00Z');
const cfg = nicCrcConfigSchema.parse({});

function snap(iface: string, atSec: number, counters: NicCounterSnapshot['counters'], extra: Partial<NicCounterSnapshot> = {}, host = 'hv-01') {
  return {
    kind: 'nic.counters' as const,
    host,
    at: T0 + atSec * 1000,
    source: `test:${iface}@${atSec}`,
    data: { interface: iface, class: 'physical', source: 'sysfs', counters, counterSources: { crc_errors: 'statistics/rx_crc_errors' }, bits: 64, ...extra } as NicCounterSnapshot,
  };
}

function run(...obs: ReturnType<typeof snap>[]) {
  const store = new ObservationStore();
  for (const o of obs) store.add(o);
  return analyzeNicCrc(store, cfg);
}

describe('nic_crc_errors', () => {
  it('rising from zero over 5 minutes at ≥ 10 errors is a warning with the numbers', () => {
    const [f] = run(snap('eno1', 0, { crc_errors: 0, rx_packets: 1_000_000 }), snap('eno1', 300, { crc_errors: 40, rx_packets: 31_000_000 }));
    expect(f).toMatchObject({ kind: 'nic_crc_errors', severity: 'warning', host: 'hv-01', subject: { interface: 'eno1' } });
    expect(f!.metrics).toMatchObject({ crcErrors: 40, windowSeconds: 300, rxPackets: 30_000_000, source: 'sysfs', counter: 'statistics/rx_crc_errors' });
    expect(f!.metrics.ratePerSecond).toBeCloseTo(40 / 300, 3);
    expect(f!.metrics.errorRatio).toBe(Number((40 / 30_000_040).toPrecision(3)));
    expect(f!.summary).toContain('40 CRC/FCS errors in 300 s');
    expect(f!.summary).toContain('eno1 on hv-01');
  });

  it('is critical at ≥ 1 error/s or ≥ 0.1 % of frames', () => {
    expect(run(snap('eno1', 0, { crc_errors: 0 }), snap('eno1', 300, { crc_errors: 600 }))[0]!.severity).toBe('critical');
    const byRatio = run(snap('eno1', 0, { crc_errors: 0, rx_packets: 0 }), snap('eno1', 300, { crc_errors: 20, rx_packets: 10_000 }))[0]!;
    expect(byRatio.severity).toBe('critical');
    expect(byRatio.metrics.errorRatio).toBe(Number((20 / 10_020).toPrecision(3)));
  });

  it('an old large total that is not rising is info, not a page', () => {
    const [f] = run(snap('eno1', 0, { crc_errors: 9_812_334 }), snap('eno1', 150, { crc_errors: 9_812_334 }), snap('eno1', 300, { crc_errors: 9_812_334 }));
    expect(f!.severity).toBe('info');
    expect(f!.metrics).toMatchObject({ crcErrors: 0, totalCrcErrors: 9_812_334 });
    expect(f!.summary).toMatch(/an old total, not a current problem/);
  });

  it('a single snapshot reports the static total honestly, never a rate', () => {
    const [f] = run(snap('eno1', 0, { crc_errors: 1234, rx_packets: 99 }));
    expect(f!.severity).toBe('info');
    expect(f!.metrics.ratePerSecond).toBeUndefined();
    expect(f!.metrics.crcErrors).toBeNull();
    expect(f!.metrics.totalCrcErrors).toBe(1234);
    expect(f!.summary).toMatch(/only one sample/);
  });

  it('a few errors below the threshold are info; none at all gives no finding', () => {
    expect(run(snap('eno1', 0, { crc_errors: 0 }), snap('eno1', 300, { crc_errors: 3 }))[0]!.severity).toBe('info');
    expect(run(snap('eno1', 0, { crc_errors: 0 }), snap('eno1', 300, { crc_errors: 0 }))).toEqual([]);
  });

  it('uses only the window: errors long ago do not count, the baseline is the last sample before the window', () => {
    const f = run(snap('eno1', 0, { crc_errors: 0 }), snap('eno1', 60, { crc_errors: 500 }), snap('eno1', 600, { crc_errors: 500 }), snap('eno1', 900, { crc_errors: 504 }))[0]!;
    expect(f.metrics).toMatchObject({ crcErrors: 4, windowSeconds: 300, samples: 2 });
    expect(f.severity).toBe('info');
  });

  it('scales the threshold when the only samples span more than the window', () => {
    // 30 errors over an hour is not "10 in 5 minutes".
    const f = run(snap('eno1', 0, { crc_errors: 0 }), snap('eno1', 3600, { crc_errors: 30 }))[0]!;
    expect(f.metrics).toMatchObject({ crcErrors: 30, windowSeconds: 3600, threshold: 120 });
    expect(f.severity).toBe('info');
  });

  it('a driver reload (counter back to a small value) counts what came after the reset', () => {
    const f = run(snap('eno1', 0, { crc_errors: 5000 }), snap('eno1', 150, { crc_errors: 5010 }), snap('eno1', 300, { crc_errors: 25 }))[0]!;
    expect(f.metrics).toMatchObject({ crcErrors: 35, counterReset: true });
    expect(f.severity).toBe('warning');
    expect(f.summary).toMatch(/reset/);
  });

  it('a 32-bit counter wrap is an increase, not a reset', () => {
    const f = run(snap('eno1', 0, { crc_errors: 2 ** 32 - 5 }, { bits: 32 }), snap('eno1', 300, { crc_errors: 15 }, { bits: 32 }))[0]!;
    expect(f.metrics).toMatchObject({ crcErrors: 20, counterWrapped: true });
  });

  it('ignores virtual devices and the bond aggregate; names the bond of a member', () => {
    const rising = (iface: string, extra: Partial<NicCounterSnapshot>) => [snap(iface, 0, { crc_errors: 0 }, extra), snap(iface, 300, { crc_errors: 100 }, extra)];
    const findings = run(...rising('veth1', { class: 'veth' }), ...rising('vnet0', { class: 'tap' }), ...rising('bond0', { class: 'bond' }), ...rising('eno2', { class: 'bond_member', bond: 'bond0' }));
    expect(findings.map((f) => f.subject)).toEqual([{ interface: 'eno2', bond: 'bond0' }]);
    expect(findings[0]!.summary).toContain('member of bond0');
  });

  it('prefers the series with more samples, then ethtool over sysfs; reports link flaps with it', () => {
    const e = (at: number, crc: number) => snap('eno1', at, { crc_errors: crc }, { source: 'ethtool', counterSources: { crc_errors: 'rx_crc_errors_phy' }, driver: 'mlx5_core' });
    const s = (at: number, crc: number, cc: number) => snap('eno1', at, { crc_errors: crc, carrier_changes: cc }, { counterSources: { crc_errors: 'statistics/rx_crc_errors', carrier_changes: 'carrier_changes' } });
    const [f] = run(e(0, 100), e(300, 400), s(0, 100, 2), s(300, 400, 8));
    expect(f!.metrics).toMatchObject({ source: 'ethtool', counter: 'rx_crc_errors_phy', crcErrors: 300, carrierChanges: 6, driver: 'mlx5_core' });
    expect(f!.summary).toMatch(/carrier changed 6 time\(s\)/);
  });

  it('keeps hosts apart and gives stable ids', () => {
    const a = run(snap('eno1', 0, { crc_errors: 0 }, {}, 'hv-01'), snap('eno1', 300, { crc_errors: 50 }, {}, 'hv-01'), snap('eno1', 0, { crc_errors: 0 }, {}, 'hv-02'), snap('eno1', 300, { crc_errors: 0 }, {}, 'hv-02'));
    expect(a.map((f) => f.host)).toEqual(['hv-01']);
    const b = run(snap('eno1', 0, { crc_errors: 0 }, {}, 'hv-01'), snap('eno1', 300, { crc_errors: 5000 }, {}, 'hv-01'));
    expect(b[0]!.id).toBe(a[0]!.id); // severity changed, identity did not
  });

  it('validates its configuration', () => {
    expect(() => nicCrcConfigSchema.parse({ minIncrease: 0 })).toThrow();
    expect(() => nicCrcConfigSchema.parse({ bogus: 1 })).toThrow();
    expect(nicCrcConfigSchema.parse({})).toEqual({ windowSeconds: 300, minIncrease: 10, criticalRatePerSecond: 1, criticalRatio: 0.001, reportStaticTotals: true });
  });
});

describe('core/counters as the NIC collector uses them', () => {
  it('handles 32-bit wraps, 64-bit counters and resets', () => {
    expect(counterDelta({ value: 2 ** 32 - 10, at: 0 }, { value: 5, at: 1000 }, 32)).toMatchObject({ increase: 15, wrapped: true, reset: false, ratePerSecond: 15 });
    // a 64-bit counter that goes backwards is a reset, never a 32-bit wrap
    expect(counterDelta({ value: 2 ** 32 - 10, at: 0 }, { value: 5, at: 1000 }, 64)).toMatchObject({ increase: 5, reset: true, wrapped: false });
    expect(counterDelta({ value: 10n, at: 0 }, { value: 10n, at: 0 }, 64)).toMatchObject({ increase: 0, ratePerSecond: undefined });
    expect(seriesIncrease([{ value: 0, at: 0 }, { value: 10, at: 1000 }, { value: 2, at: 2000 }, { value: 7, at: 3000 }], 64)).toMatchObject({ increase: 17, reset: true, seconds: 3 });
  });
});

describe('nic_crc_errors in serve (15 s polls)', () => {
  it('warns at exactly 10 errors when polls do not fall on the window edge', () => {
    const obs = [];
    for (let t = 0, crc = 0; t <= 600; t += 15) {
      if (t > 320) crc = Math.min(10, crc + 1);
      obs.push(snap('eno1', t + 7, { crc_errors: crc }));
    }
    const [f] = run(...obs);
    expect(f!.metrics).toMatchObject({ crcErrors: 10, threshold: 10 });
    expect(f!.severity).toBe('warning');
  });
});
