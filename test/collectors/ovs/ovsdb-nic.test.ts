/**
 * A DPDK port's counters live only in OVS's Interface `statistics` column: two OVSDB listings a
 * minute apart with a rising `rx_crc_err` on a dpdk port give a nic_crc_errors finding, while
 * veth, tun and internal ports (the real captured listing) give no NIC counters at all, and a
 * kernel NIC that also has sysfs counters is judged once, from sysfs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DpdkCounterExport } from '../../../collectors/ovs/nic-stats.js';
import { ovsConfigSchema, pollOvs } from '../../../collectors/ovs/index.js';
import { NetdiagError } from '../../../core/errors.js';
import type { Exec } from '../../../core/exec.js';
import { ObservationStore } from '../../../core/observation.js';
import { nullLogger } from '../../../core/plugin.js';
import { allMetricSpecs } from '../../../engine/appliance.js';
import { diagnose, readInputs } from '../../../engine/pipeline.js';
import { PromMetrics } from '../../../server/metrics.js';

const FIX = join(__dirname, '..', '..', 'fixtures', 'ovs');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The columns of the real captured listing, so the table is recognised as OVS prints it. */
const HEADINGS: string[] = JSON.parse(readFileSync(join(FIX, 'list-interface.json'), 'utf8').split('\n')[2]!).headings;
function listing(at: string, rows: { name: string; type: string; driver?: string; stats: Record<string, number> }[]): string {
  const data = rows.map((r, i) =>
    HEADINGS.map((h) => {
      switch (h) {
        case '_uuid': return ['uuid', `00000000-0000-4000-8000-00000000000${i}`];
        case 'name': return r.name;
        case 'ofport': return i + 1;
        case 'statistics': return ['map', Object.entries(r.stats)];
        case 'status': return ['map', r.driver ? [['driver_name', r.driver]] : []];
        case 'type': return r.type;
        default: return ['set', []];
      }
    }),
  );
  return `# command: ovs-vsctl --format=json list Interface\n# collected-at: ${at}\n${JSON.stringify({ data, headings: HEADINGS })}\n`;
}

describe('NIC counters from OVSDB Interface statistics', () => {
  it('a DPDK port with rising rx_crc_err is a CRC finding; a kernel NIC is judged from sysfs only', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nd-ovsdb-nic-'));
    dirs.push(d);
    const host = join(d, 'hv-dpdk');
    mkdirSync(host);
    const rows = (crc: number, pkts: number, eno: number) => [
      { name: 'dpdk-p0', type: 'dpdk', driver: 'net_ixgbe', stats: { rx_crc_err: crc, rx_packets: pkts, rx_errors: crc, rx_dropped: 0 } },
      { name: 'eno1', type: '', driver: 'ixgbe', stats: { rx_crc_err: eno, rx_packets: pkts } },
      { name: 'vnet0', type: '', driver: 'veth', stats: { rx_crc_err: 999, rx_packets: 5 } },
    ];
    writeFileSync(join(host, 'ovsdb-interface.1.json'), listing('2026-11-23T10:00:00Z', rows(100, 1_000_000, 10)));
    writeFileSync(join(host, 'ovsdb-interface.2.json'), listing('2026-11-23T10:01:00Z', rows(700, 1_500_000, 500)));
    // the kernel's view of eno1, one minute apart as well
    for (const [n, at, crc] of [[1, '2026-11-23T10:00:00Z', 10], [2, '2026-11-23T10:01:00Z', 500]] as const)
      writeFileSync(join(host, `sysfs.${n}.txt`), `# command: netdiag sysfs dump\n# collected-at: ${at}\neno1/statistics/rx_crc_errors ${crc}\neno1/statistics/rx_packets ${n * 1_000_000}\neno1/device 1\neno1/driver ixgbe\n`);
    const report = await diagnose({ bundles: [d] });
    expect(report.inputs.filter((i) => i.error)).toEqual([]);
    const crc = report.findings.filter((f) => f.kind === 'nic_crc_errors');
    expect(crc.map((f) => f.subject.interface).sort()).toEqual(['dpdk-p0', 'eno1']);
    const dpdk = crc.find((f) => f.subject.interface === 'dpdk-p0')!;
    expect(dpdk.metrics.crcErrors).toBe(600);
    expect(dpdk.host).toBe('hv-dpdk');
    expect(JSON.stringify(dpdk.evidence)).toMatch(/rx_crc_err/);
    // eno1 once, from the kernel's counters
    expect(JSON.stringify(crc.find((f) => f.subject.interface === 'eno1')!.evidence)).not.toMatch(/Interface statistics/);
  });

  it('veth, tun and internal ports of a real listing give no NIC counters', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nd-ovsdb-nic-'));
    dirs.push(d);
    writeFileSync(join(d, 'list-interface.json'), readFileSync(join(FIX, 'list-interface.json')));
    const { store } = await readInputs({ files: [join(d, 'list-interface.json')] });
    expect(store.get('ovs.interface').length).toBeGreaterThan(5);
    expect(store.get('ovs.interface').find((o) => o.data.name === 'vnet0')!.data.driverName).toBe('veth');
    expect(store.get('nic.counters')).toEqual([]);
  });

  it('serve exports netdiag_nic_* for DPDK ports only (kernel NICs are the NIC collector\'s)', async () => {
    // DPDK cannot run on this kernel: ovs-vsctl answers with listings in OVS's own JSON form.
    let crc = 100;
    const exec: Exec = async (_file, args) => {
      if (args.includes('Interface')) {
        const rows = [
          { name: 'dpdk-p0', type: 'dpdk', driver: 'net_ice', stats: { rx_crc_err: crc, rx_packets: crc * 1000 } },
          { name: 'eno1', type: '', driver: 'ixgbe', stats: { rx_crc_err: crc, rx_packets: 1 } },
        ];
        return { stdout: listing('2026-11-23T10:00:00Z', rows).split('\n').slice(2).join('\n'), stderr: '', code: 0 };
      }
      if (args.includes('list-br')) return { stdout: '', stderr: '', code: 0 };
      throw new NetdiagError('E_EXEC', 'not in this test');
    };
    const metrics = new PromMetrics(allMetricSpecs(), { defaultMetrics: false });
    const store = new ObservationStore();
    let now = Date.parse('2026-11-23T10:00:00Z');
    const ctx = { emit: (o: never) => store.add(o), metrics, log: nullLogger, exec, host: 'hv-dpdk', roots: { sys: '/sys', proc: '/proc' }, now: () => now };
    const cfg = ovsConfigSchema.parse({});
    const state = new DpdkCounterExport();
    await pollOvs(ctx as never, cfg, undefined, state);
    crc = 400;
    now += 30_000;
    await pollOvs(ctx as never, cfg, undefined, state);
    const text = await metrics.text();
    expect(text).toMatch(/^netdiag_nic_errors_total\{host="hv-dpdk",interface="dpdk-p0",counter="crc_errors"\} 300$/m);
    expect(text).toMatch(/^netdiag_nic_receive_packets_total\{host="hv-dpdk",interface="dpdk-p0"\} 300000$/m);
    expect(text).not.toMatch(/interface="eno1"/);
    expect(store.get('nic.counters').map((o) => o.data.interface).sort()).toEqual(['dpdk-p0', 'dpdk-p0', 'eno1', 'eno1']);
  });
});
