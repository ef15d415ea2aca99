import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetdiagError } from '../../../core/errors.js';
import type { Exec } from '../../../core/exec.js';
import { memoryInput } from '../../../core/input.js';
import { ObservationStore, type AnyObservation } from '../../../core/observation.js';
import { nullLogger, type LiveContext, type MetricsSink } from '../../../core/plugin.js';
import { createNicCollector, ethtoolInfoFile, ethtoolStatsFile, ipLinkStatsFile, nicConfigSchema, sysfsDumpFile } from '../../../collectors/nic/index.js';
import { fileCollectors, liveCollectors } from '../../../collectors/index.js';
import { recognise } from '../../../engine/pipeline.js';

const FIX = join(__dirname, '..', '..', 'fixtures', 'nic');

class RecordingMetrics implements MetricsSink {
  readonly values = new Map<string, number>();
  inc(name: string, labels: Record<string, string> = {}, value = 1) {
    const k = `${name}${JSON.stringify(labels)}`;
    this.values.set(k, (this.values.get(k) ?? 0) + value);
  }
  set(name: string, labels: Record<string, string>, value: number) {
    this.values.set(`${name}${JSON.stringify(labels)}`, value);
  }
  reset() {}
  get(name: string, labels: Record<string, string>) {
    return this.values.get(`${name}${JSON.stringify(labels)}`);
  }
}

describe('NIC file collectors (bundle inputs recognised by content)', () => {
  it('are registered', () => {
    for (const c of [ethtoolStatsFile, ethtoolInfoFile, ipLinkStatsFile, sysfsDumpFile]) expect(fileCollectors).toContain(c);
    expect(liveCollectors.map((c) => c.name)).toContain('nic');
  });

  it('recognise each format by content, with or without the # command: header', async () => {
    const ixgbe = await readFile(join(FIX, 'ethtool', 'ixgbe-eno1.txt'), 'utf8');
    const noHeader = ixgbe.replace(/^#.*\n/gm, '');
    expect(recognise(memoryInput('a', ixgbe))?.type).toBe('ethtool-stats');
    expect(recognise(memoryInput('ethtool-S-eno1.txt', noHeader))?.type).toBe('ethtool-stats');
    expect(recognise(memoryInput('i', await readFile(join(FIX, 'ethtool', 'virtio_net-eth0-info.txt'))))?.type).toBe('ethtool-info');
    expect(recognise(memoryInput('j', await readFile(join(FIX, 'iplink', 'ip-j-s-s-link.json'))))?.type).toBe('ip-link-stats');
    expect(recognise(memoryInput('t', await readFile(join(FIX, 'iplink', 'ip-s-s-link.txt'))))?.type).toBe('ip-link-stats');
    expect(recognise(memoryInput('d', '# command: netdiag sysfs-dump\neno1/statistics/rx_crc_errors 5\n'))?.type).toBe('sysfs-net-dump');
    expect(recognise(memoryInput('d2', 'eno1/mtu 1500\neno1/statistics/rx_crc_errors 5\n'))?.type).toBe('sysfs-net-dump');
    // ip -j link without statistics is left to other collectors (MTU/inventory).
    expect(recognise(memoryInput('n', '[{"ifindex":1,"ifname":"lo","mtu":65536}]'))?.type).not.toBe('ip-link-stats');
  });

  it('read an ethtool capture into a counter snapshot at its collected-at time', async () => {
    const emitted: AnyObservation[] = [];
    const input = memoryInput('/b/hv-02/x.txt', await readFile(join(FIX, 'ethtool', 'mlx5_core-enp65s0f0np0.txt')), { host: 'hv-02' });
    const stats = await ethtoolStatsFile.read(input, { emit: (o) => emitted.push(o), metrics: new RecordingMetrics(), log: nullLogger });
    expect(stats.records).toBeGreaterThan(40);
    const snap = emitted.find((o) => o.kind === 'nic.counters')!;
    expect(snap.data).toMatchObject({ interface: 'enp65s0f0np0', driver: 'mlx5_core', class: 'physical', source: 'ethtool', counters: { crc_errors: 52, symbol_errors: 40 } });
  });

  it('name the input and the problem when a file is bad', async () => {
    const ctx = { emit() {}, metrics: new RecordingMetrics(), log: nullLogger };
    await expect(ethtoolStatsFile.read(memoryInput('/b/hv-01/ethtool-S-eno9.txt', '# command: ethtool -S eno9\nCannot get stats strings information: No such device\n'), ctx)).rejects.toThrow(
      /\/b\/hv-01\/ethtool-S-eno9.txt: ethtool reported an error/,
    );
    await expect(ipLinkStatsFile.read(memoryInput('/b/hv-01/ip.json', '[{"ifname": "eno1", "stats64": {'), ctx)).rejects.toThrow(/\/b\/hv-01\/ip.json: not valid JSON/);
    const partial = await sysfsDumpFile.read(memoryInput('/b/d.txt', '# command: netdiag sysfs-dump\neno1/statistics/rx_crc_errors 5\nnonsense\n'), ctx);
    expect(partial).toMatchObject({ records: 1, skipped: 1 });
    expect(partial.warnings![0]).toMatch(/nonsense/);
  });
});

describe('live collector `nic` on a fixture sysfs tree with replayed ethtool', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nd-nic-'));
    await cp(join(FIX, 'sysfs'), root, { recursive: true, verbatimSymlinks: true });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads sysfs, runs ethtool on NICs only, exports increases as counters and survives a failing ethtool', async () => {
    const ixgbe = await readFile(join(FIX, 'ethtool', 'ixgbe-eno1.txt'), 'utf8');
    let ethtoolCrc = 1795;
    const calls: string[] = [];
    const exec: Exec = async (file, args) => {
      calls.push([file, ...args].join(' '));
      if (args[1] === 'eno2') throw new NetdiagError('E_EXEC', 'ethtool -S eno2 failed: Operation not permitted');
      const out = args[1] === 'eno1' ? ixgbe.replace(/rx_crc_errors: \d+/, `rx_crc_errors: ${ethtoolCrc}`) : 'NIC statistics:\n     rx_crc_errors: 0\n     rx_packets: 10\n';
      return { stdout: out, stderr: '', code: 0, signal: null, truncated: false };
    };
    const store = new ObservationStore();
    const metrics = new RecordingMetrics();
    let now = Date.parse('2026-11-20T03:00:00Z');
    const ctx: LiveContext = { emit: (o) => store.add(o), metrics, log: nullLogger, exec, host: 'hv-01', roots: { sys: root, proc: '/proc' }, now: () => now };
    const nic = createNicCollector();
    const cfg = nicConfigSchema.parse({});
    expect(nic.interval(cfg)).toBe(15);

    const first = await nic.poll!(ctx, cfg, new AbortController().signal);
    expect(calls.sort()).toEqual(['ethtool -S eno1', 'ethtool -S eno2', 'ethtool -S eno3']); // not on bond0, vnet0, veth, vlan...
    expect(first.warnings!.join('\n')).toMatch(/ethtool -S eno2: .*Operation not permitted/);
    expect(metrics.get('netdiag_nic_poll_errors_total', { host: 'hv-01', source: 'ethtool' })).toBe(1);
    // net.link for every interface except lo (excluded by default); counters only for NICs, members and bonds
    expect(store.get('net.link').map((o) => o.data.interface).sort()).toEqual(['bond0', 'br-int', 'cloudbr0', 'eno1', 'eno2', 'eno3', 'eno3.100', 'ovs-system', 'veth1a', 'vnet0', 'vxlan100']);
    expect(new Set(store.get('nic.counters').map((o) => `${o.data.interface}/${o.data.source}`))).toEqual(new Set(['eno1/sysfs', 'eno1/ethtool', 'eno2/sysfs', 'eno3/sysfs', 'eno3/ethtool', 'bond0/sysfs']));
    // first sample: series exist at 0 (a big old total is not an increase)
    expect(metrics.get('netdiag_nic_errors_total', { host: 'hv-01', interface: 'eno1', counter: 'crc_errors' })).toBe(0);

    // 15 s later: +25 CRC errors on eno1 (ethtool), +7 on eno2 (sysfs only, since its ethtool fails)
    now += 15_000;
    ethtoolCrc += 25;
    await writeFile(join(root, 'class/net/eno1/statistics/rx_crc_errors'), `${1795 + 25}\n`);
    await writeFile(join(root, 'class/net/eno2/statistics/rx_crc_errors'), '10\n');
    await writeFile(join(root, 'class/net/eno2/carrier_changes'), '4\n');
    await nic.poll!(ctx, cfg, new AbortController().signal);
    expect(metrics.get('netdiag_nic_errors_total', { host: 'hv-01', interface: 'eno1', counter: 'crc_errors' })).toBe(25);
    expect(metrics.get('netdiag_nic_errors_total', { host: 'hv-01', interface: 'eno2', counter: 'crc_errors' })).toBe(7);
    expect(metrics.get('netdiag_nic_carrier_changes_total', { host: 'hv-01', interface: 'eno2' })).toBe(2);
    expect(metrics.get('netdiag_nic_errors_total', { host: 'hv-01', interface: 'bond0', counter: 'crc_errors' })).toBeUndefined(); // bounded: NICs and members only

    // driver reload: the counter restarts from 3; the exported counter only grows (by 3)
    now += 15_000;
    ethtoolCrc = 3;
    await nic.poll!(ctx, cfg, new AbortController().signal);
    expect(metrics.get('netdiag_nic_errors_total', { host: 'hv-01', interface: 'eno1', counter: 'crc_errors' })).toBe(28);
    expect(metrics.get('netdiag_nic_counter_resets_total', { host: 'hv-01', interface: 'eno1' })).toBe(1);
  });

  it('fails clearly when roots.sys is wrong', async () => {
    const ctx: LiveContext = { emit() {}, metrics: new RecordingMetrics(), log: nullLogger, exec: runNothing, host: 'h', roots: { sys: join(root, 'nope'), proc: '/proc' }, now: Date.now };
    await expect(createNicCollector().poll!(ctx, nicConfigSchema.parse({}), new AbortController().signal)).rejects.toThrow(/NIC counters: cannot list .*nope\/class\/net/);
  });
});

const runNothing: Exec = async () => ({ stdout: '', stderr: '', code: 0, signal: null, truncated: false });

describe('capture for netdiag collect', () => {
  it('writes a sysfs dump and ethtool captures that diagnose reads back into a finding', async () => {
    const { captureNicSnapshot } = await import('../../../collectors/nic/capture.js');
    const { diagnose } = await import('../../../engine/pipeline.js');
    const { mkdir } = await import('node:fs/promises');
    const sys = await mkdtemp(join(tmpdir(), 'nd-nic-sys-'));
    const out = await mkdtemp(join(tmpdir(), 'nd-nic-bundle-'));
    try {
      await cp(join(FIX, 'sysfs'), sys, { recursive: true, verbatimSymlinks: true });
      await mkdir(join(out, 'hv-07'));
      const ixgbe = await readFile(join(FIX, 'ethtool', 'ixgbe-eno1.txt'), 'utf8');
      let crc = 1795;
      const exec: Exec = async (_f, args) => ({ stdout: ixgbe.replace(/^#.*\n/gm, '').replace(/rx_crc_errors: \d+/, `rx_crc_errors: ${args[1] === 'eno1' ? crc : 0}`), stderr: '', code: 0, signal: null, truncated: false });
      let now = Date.parse('2026-11-20T03:00:00Z');
      const first = await captureNicSnapshot(join(out, 'hv-07'), { exec, sysRoot: sys, host: 'hv-07', now: () => now, index: 1 });
      expect(first.files.map((f) => f.split('/').pop()).sort()).toEqual(['ethtool-S-eno1.1.txt', 'ethtool-S-eno2.1.txt', 'ethtool-S-eno3.1.txt', 'nic-sysfs.1.txt']);
      now += 300_000;
      crc += 500;
      await captureNicSnapshot(join(out, 'hv-07'), { exec, sysRoot: sys, host: 'hv-07', now: () => now, index: 2 });
      const report = await diagnose({ bundles: [out] });
      expect(report.inputs.filter((i) => i.error)).toEqual([]);
      expect(new Set(report.inputs.map((i) => i.type))).toEqual(new Set(['ethtool-stats', 'sysfs-net-dump']));
      const f = report.findings.find((x) => x.kind === 'nic_crc_errors' && x.severity !== 'info')!;
      expect(f).toMatchObject({ severity: 'critical', host: 'hv-07', subject: { interface: 'eno1', bond: 'bond0' }, metrics: { crcErrors: 500, windowSeconds: 300, source: 'ethtool' } });
    } finally {
      await rm(sys, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('nic collector config', () => {
  it('has documented defaults and reports every bad field at once', async () => {
    const { validateConfig } = await import('../../../engine/config.js');
    const cfg = validateConfig({});
    expect((cfg.collectors as Record<string, unknown>).nic).toEqual({
      intervalSeconds: 15,
      include: '.*',
      exclude: '^lo$',
      counterClasses: ['physical', 'bond_member', 'bond'],
      ethtool: true,
      ipLink: false,
      commandTimeoutMs: 5000,
      enabled: true,
    });
    expect(() => validateConfig({ collectors: { nic: { intervalSeconds: -1, include: '(', counterClasses: ['wire'] } } })).toThrow(
      /collectors\.nic\.intervalSeconds[\s\S]*collectors\.nic\.include: not a valid regular expression[\s\S]*collectors\.nic\.counterClasses/,
    );
    expect((validateConfig({}).analyzers as Record<string, unknown>)['nic-crc-errors']).toMatchObject({ windowSeconds: 300, minIncrease: 10 });
  });
});
