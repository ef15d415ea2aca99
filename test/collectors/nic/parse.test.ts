import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../../core/input.js';
import { canonicalise, guessDriver } from '../../../collectors/nic/drivers.js';
import {
  classifyByName,
  ethtoolInterface,
  ethtoolSnapshot,
  parseEthtoolInfo,
  parseEthtoolStats,
  parseIpLinkJson,
  parseIpLinkText,
  parseSysfsDump,
  sysfsSnapshots,
} from '../../../collectors/nic/parse.js';
import { formatSysfsDump, readSysfsTree } from '../../../collectors/nic/sysfs.js';

const FIX = join(__dirname, '..', '..', 'fixtures', 'nic');
const ETHTOOL = join(FIX, 'ethtool');

function fixture(rel: string): { text: string; header: ReturnType<typeof parseHeader> } {
  const text = readFileSync(join(FIX, rel), 'utf8');
  return { text, header: parseHeader(text) };
}

const goldens = readdirSync(ETHTOOL).filter((f) => f.endsWith('.expected.json'));

describe('ethtool -S per driver (golden)', () => {
  it('has a golden file for every captured or constructed driver output', () => {
    expect(goldens.length).toBeGreaterThanOrEqual(11);
  });

  it.each(goldens)('%s', (golden) => {
    const rel = `ethtool/${golden.replace('.expected.json', '.txt')}`;
    const { text, header } = fixture(rel);
    // First line names the command, second the driver.
    expect(header.command).toMatch(/^ethtool -S \S+$/);
    expect(header.extra.driver).toBeTruthy();
    const parsed = parseEthtoolStats(text);
    expect(parsed.skipped).toEqual([]);
    // The driver is recognised from the counter names alone (no `ethtool -i` needed)...
    expect(guessDriver(parsed.stats.keys())).toBe(header.extra.driver);
    const snap = ethtoolSnapshot(ethtoolInterface(header.command, rel), parsed);
    const expected = JSON.parse(readFileSync(join(ETHTOOL, golden), 'utf8'));
    expect({ interface: snap.interface, driver: snap.driver, class: snap.class, counters: snap.counters, counterSources: snap.counterSources }).toEqual(expected);
    // ...and every raw counter stays available, open-ended.
    expect(Object.keys(snap.raw!).length).toBe(parsed.stats.size);
  });

  it('maps the CRC counter of each driver to its own name', () => {
    const crcSource = (f: string) => {
      const { text, header } = fixture(`ethtool/${f}`);
      return ethtoolSnapshot('x', parseEthtoolStats(text), header.extra.driver).counterSources.crc_errors;
    };
    expect(crcSource('ixgbe-eno1.txt')).toBe('rx_crc_errors');
    expect(crcSource('i40e-ens1f0.txt')).toBe('port.rx_crc_errors');
    expect(crcSource('ice-ens2f0.txt')).toBe('rx_crc_errors.nic');
    expect(crcSource('mlx5_core-enp65s0f0np0.txt')).toBe('rx_crc_errors_phy');
    expect(crcSource('bnxt_en-ens3f0np0.txt')).toBe('rx_fcs_err_frames');
    expect(crcSource('tg3-eno4.txt')).toBe('rx_fcs_errors');
    expect(crcSource('vmxnet3-ens192.txt')).toMatch(/fcs/);
    expect(crcSource('virtio_net-eth0.txt')).toBeUndefined(); // virtio has no FCS counter: absent, never 0
    expect(crcSource('veth-vfxa.txt')).toBeUndefined();
  });

  it('reads virtio_net in both namings (rx_queue_N_* and the newer rxN_* with rx_* totals) and ice by its port counters', () => {
    // virtnet_get_stats_string (kernel ~6.10+): "rx%u_%s" per queue, "rx_%s" totals, "rx%u_hw_%s" device stats
    const newer = parseEthtoolStats('NIC statistics:\n     rx0_packets: 70\n     rx0_drops: 1\n     rx0_kicks: 9\n     rx1_packets: 30\n     rx1_drops: 2\n     rx0_hw_packets: 999\n     tx0_packets: 40\n');
    expect(guessDriver(newer.stats.keys())).toBe('virtio_net');
    expect(canonicalise('virtio_net', newer.stats).counters).toMatchObject({ rx_packets: 100, rx_dropped: 3, tx_packets: 40 });
    expect(canonicalise('virtio_net', newer.stats).counters.crc_errors).toBeUndefined();
    const ice = parseEthtoolStats('NIC statistics:\n     rx_unicast: 5\n     rx_multicast: 0\n     rx_broadcast: 0\n     rx_unicast.nic: 900\n     rx_multicast.nic: 90\n     rx_broadcast.nic: 10\n     rx_crc_errors.nic: 4\n');
    expect(canonicalise('ice', ice.stats).counters).toMatchObject({ rx_packets: 1000, crc_errors: 4 });
  });

  it('keeps unknown keys, sums repeated ones and never breaks on new names', () => {
    const p = parseEthtoolStats('NIC statistics:\n     rx_crc_errors: 5\n     brand_new_counter_2031: 7\n     rx_crc_errors: 2\n     weird line without number\n');
    expect(p.stats.get('brand_new_counter_2031')).toBe(7);
    expect(p.stats.get('rx_crc_errors')).toBe(7);
    expect(p.duplicates).toEqual(['rx_crc_errors']);
    expect(p.skipped).toEqual(['weird line without number']);
    expect(canonicalise(undefined, p.stats).counters.crc_errors).toBe(7);
  });

  it('reads kernel standard stats (--all-groups) as the driver-neutral CRC source', () => {
    const p = parseEthtoolStats('Standard stats for eno1:\neth-mac-FrameCheckSequenceErrors: 42\neth-mac-AlignmentErrors: 1\neth-phy-SymbolErrorDuringCarrier: 3\n');
    const s = ethtoolSnapshot('eno1', p, 'ixgbe');
    expect(s.counters).toMatchObject({ crc_errors: 42, alignment_errors: 1, symbol_errors: 3 });
  });

  it('treats "no stats available" as a warning and ethtool errors as a clear parse error', () => {
    expect(parseEthtoolStats('no stats available\n').noStats).toBe(true);
    expect(() => parseEthtoolStats('Cannot get stats strings information: No such device\n')).toThrow(/ethtool reported an error: Cannot get stats/);
  });

  it('finds the interface in the command header, else in the file name', () => {
    expect(ethtoolInterface('ethtool -S eno1', 'x')).toBe('eno1');
    expect(ethtoolInterface('ethtool --statistics ens1f0np0', 'x')).toBe('ens1f0np0');
    expect(ethtoolInterface('ethtool -i bond0', 'x')).toBe('bond0');
    expect(ethtoolInterface(undefined, '/b/hv-01/ethtool-S-eno2.1.txt')).toBe('eno2');
    expect(ethtoolInterface(undefined, '/b/hv-01/eno3_before.txt.gz')).toBe('eno3');
    expect(ethtoolInterface(undefined, '/sosreport-hv-01/sos_commands/networking/ethtool_-S_ens1f0')).toBe('ens1f0');
    expect(ethtoolInterface(undefined, '/sosreport-hv-01/sos_commands/networking/ethtool_-i_ens1f0')).toBe('ens1f0');
    expect(() => ethtoolInterface(undefined, '/b/hv-01/this is not an interface name.txt')).toThrow(/cannot tell which interface/);
  });

  it('reads ethtool -i (real capture)', () => {
    expect(parseEthtoolInfo(fixture('ethtool/virtio_net-eth0-info.txt').text)).toMatchObject({ driver: 'virtio_net', busInfo: '0000:00:03.0' });
  });
});

describe('ip link', () => {
  it('parses real `ip -j -s -s link` output, classifying loopback and veth', () => {
    const { links, skipped } = parseIpLinkJson(fixture('iplink/ip-j-s-s-link.json').text.replace(/^#.*\n/gm, ''));
    expect(skipped).toEqual([]);
    const byName = new Map(links.map((l) => [l.interface, l]));
    expect(byName.get('lo')!.class).toBe('loopback');
    expect(byName.get('vfxa')!.class).toBe('veth');
    const eth0 = byName.get('eth0')!;
    expect(eth0.counters.crc_errors).toBe(0);
    expect(eth0.counters.rx_packets).toBeGreaterThan(0);
    expect(eth0.counters.carrier_changes).toBeTypeOf('number');
    expect(eth0.counterSources.crc_errors).toBe('stats64.rx.crc_errors');
  });

  it('parses real `ip -s -s link` text with the same columns', () => {
    const { links, skipped } = parseIpLinkText(fixture('iplink/ip-s-s-link.txt').text);
    expect(skipped).toEqual([]);
    const eth0 = links.find((l) => l.interface === 'eth0')!;
    expect(eth0).toMatchObject({ mtu: 1400, operState: 'up' });
    expect(Object.keys(eth0.counters).sort()).toEqual(
      ['carrier_changes', 'crc_errors', 'frame_errors', 'length_errors', 'rx_bytes', 'rx_dropped', 'rx_errors', 'rx_fifo_errors', 'rx_missed', 'rx_over_errors', 'rx_packets', 'tx_bytes', 'tx_carrier_errors', 'tx_dropped', 'tx_errors', 'tx_packets'].sort(),
    );
    expect(eth0.counters.rx_bytes).toBe(313524824);
    expect(eth0.counters.carrier_changes).toBe(2);
    expect(links.find((l) => l.interface === 'vfxa')!.class).toBe('veth');
  });

  it('parses `ip -j -s link` (one -s: no crc column, so crc is absent, not 0)', () => {
    const { links } = parseIpLinkJson(fixture('iplink/ip-j-s-link.json').text.replace(/^#.*\n/gm, ''));
    const eth0 = links.find((l) => l.interface === 'eth0')!;
    expect(eth0.counters.rx_packets).toBeGreaterThan(0);
    expect(eth0.counters.crc_errors).toBeUndefined();
  });

  it('classifies from `ip -d` linkinfo (bond member, bond, bridge, vxlan, tap)', () => {
    const text = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'bundle', 'hv-02', 'ip-j-d-s-s-link.json'), 'utf8').replace(/^#.*\n/gm, '');
    const cls = Object.fromEntries(parseIpLinkJson(text).links.map((l) => [l.interface, l.class]));
    expect(cls).toMatchObject({ eno1: 'bond_member', eno2: 'bond_member', bond0: 'bond', cloudbr0: 'bridge', vxlan1001: 'tunnel', vnet0: 'tap' });
  });

  it('rejects what is not an ip -j array with a clear message', () => {
    expect(() => parseIpLinkJson('{"a":1}')).toThrow(/expected a JSON array/);
    expect(() => parseIpLinkJson('[{"ifname":')).toThrow(/not valid JSON/);
  });

  it('classifies by name only as a last resort', () => {
    expect(classifyByName('vnet12')).toBe('tap');
    expect(classifyByName('bond1')).toBe('bond');
    expect(classifyByName('cloudbr0')).toBe('bridge');
    expect(classifyByName('eth0.100')).toBe('vlan');
    expect(classifyByName('vxlan_sys_4789')).toBe('tunnel');
    expect(classifyByName('eno1')).toBe('physical');
  });
});

describe('sysfs', () => {
  it('reads a fixture tree and classifies every interface from its attributes', async () => {
    const { interfaces, warnings } = await readSysfsTree(join(FIX, 'sysfs'));
    expect(warnings).toEqual([]);
    const snaps = new Map(sysfsSnapshots(interfaces).map((s) => [s.snapshot.interface, s]));
    const cls = Object.fromEntries([...snaps].map(([k, v]) => [k, v.snapshot.class]));
    expect(cls).toEqual({
      'br-int': 'ovs_internal',
      bond0: 'bond',
      cloudbr0: 'bridge',
      eno1: 'bond_member',
      eno2: 'bond_member',
      eno3: 'physical',
      'eno3.100': 'vlan',
      lo: 'loopback',
      'ovs-system': 'ovs_internal',
      veth1a: 'veth',
      vnet0: 'tap',
      vxlan100: 'tunnel',
    });
    const eno1 = snaps.get('eno1')!;
    expect(eno1.snapshot).toMatchObject({ driver: 'ixgbe', bond: 'bond0', source: 'sysfs', bits: 64 });
    expect(eno1.snapshot.counters).toMatchObject({ crc_errors: 1795, rx_packets: 918273645, length_errors: 46, rx_missed: 12, carrier_changes: 5 });
    expect(eno1.snapshot.counterSources.crc_errors).toBe('statistics/rx_crc_errors');
    expect(eno1.mtu).toBe(9000);
    expect(interfaces.get('bond0')!.attrs.get('lower')).toBe('eno1 eno2');
    expect(interfaces.get('cloudbr0')!.attrs.get('brif')).toBe('bond0 vnet0');
  });

  it('round-trips the tree through the documented dump format', async () => {
    const { interfaces } = await readSysfsTree(join(FIX, 'sysfs'), (n) => n.startsWith('eno') || n === 'bond0');
    const dump = formatSysfsDump(interfaces, new Date('2026-11-20T03:10:00Z'), 'hv-02');
    expect(dump.split('\n').slice(0, 3)).toEqual(['# command: netdiag sysfs-dump', '# collected-at: 2026-11-20T03:10:00.000Z', '# host: hv-02']);
    expect(dump).toMatch(/^eno1\/statistics\/rx_crc_errors 1795$/m);
    expect(dump).toMatch(/^eno1\/driver ixgbe$/m);
    expect(dump).toMatch(/^bond0\/bonding\/slaves eno1 eno2$/m);
    const back = parseSysfsDump(dump);
    expect(back.skipped).toEqual([]);
    const a = sysfsSnapshots(interfaces).map((s) => s.snapshot);
    const b = sysfsSnapshots(back.interfaces).map((s) => s.snapshot);
    expect(b).toEqual(a);
  });

  it('reports bad dump lines and keeps the rest', () => {
    const { interfaces, skipped } = parseSysfsDump('eno1/statistics/rx_crc_errors 5\neno1/statistics/rx_packets lots\ngarbage\n');
    expect(interfaces.get('eno1')!.statistics.get('rx_crc_errors')).toBe(5);
    expect(skipped).toEqual(['eno1/statistics/rx_packets lots', 'garbage']);
  });

  it('fails clearly when the root has no class/net', async () => {
    await expect(readSysfsTree('/nonexistent-nd-nic')).rejects.toThrow(/cannot list \/nonexistent-nd-nic\/class\/net/);
  });
});

describe('README', () => {
  it('documents a sysfs dump example that the reader accepts as is', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'collectors', 'nic', 'README.md'), 'utf8');
    const block = /### Sysfs dump format[\s\S]*?```\n([\s\S]*?)```/.exec(readme)![1]!;
    const { interfaces, skipped } = parseSysfsDump(block);
    expect(skipped).toEqual([]);
    const cls = Object.fromEntries(sysfsSnapshots(interfaces).map((s) => [s.snapshot.interface, s.snapshot.class]));
    expect(cls).toEqual({ eno1: 'bond_member', bond0: 'bond', cloudbr0: 'bridge', vnet0: 'tap' });
  });
});
