/**
 * NIC counters from OVS's Interface `statistics` column. For a DPDK port they are the only
 * counters there are: the kernel never sees the device, so sysfs, ethtool and ip show nothing.
 * For a kernel (system) port they repeat the kernel's, and the CRC analyzer prefers those.
 * Only wires are turned into `nic.counters`: a DPDK port, or a system port whose driver is a real
 * NIC's (`status:driver_name`), never veth, tun/tap, internal ports or tunnels.
 */
import type { OvsInterfaceInfo } from '../../core/kinds.js';
import type { MetricsSink } from '../../core/plugin.js';
// The `nic.counters` kind and its series belong to collectors/nic; this file only produces their data.
import { CounterIncreaseExport } from '../nic/export.js';
import { type CanonicalCounter, ERROR_COUNTERS, type NicCounterSnapshot } from '../nic/types.js';

/** vswitch.ovsschema Interface statistics → canonical counters. */
const MAP: Record<string, CanonicalCounter> = {
  rx_packets: 'rx_packets',
  tx_packets: 'tx_packets',
  rx_bytes: 'rx_bytes',
  tx_bytes: 'tx_bytes',
  rx_errors: 'rx_errors',
  tx_errors: 'tx_errors',
  rx_dropped: 'rx_dropped',
  tx_dropped: 'tx_dropped',
  rx_crc_err: 'crc_errors',
  rx_frame_err: 'frame_errors',
  rx_over_err: 'rx_over_errors',
  rx_missed_errors: 'rx_missed',
};

/** Drivers of everything that is not a wire, as OVS reports them in `status:driver_name`. */
const VIRTUAL_DRIVERS = new Set(['veth', 'tun', 'openvswitch', 'bridge', 'bonding', '8021q', 'vxlan', 'gre', 'ip_gre', 'ip6_gre', 'geneve', 'macvlan', 'macvtap', 'dummy', 'vrf', 'team', 'ipvlan', 'vif', 'xen-netback', 'virtio_net']);

/** Is this OVS interface a physical wire, and how sure is OVS of it? */
function isWire(i: OvsInterfaceInfo): boolean {
  if (i.type === 'dpdk') return true;
  if (i.type !== '' && i.type !== 'system') return false;
  const d = i.driverName?.toLowerCase();
  return d !== undefined && d !== '' && !VIRTUAL_DRIVERS.has(d);
}

export function ovsdbNicSnapshot(i: OvsInterfaceInfo): NicCounterSnapshot | undefined {
  if (!i.statistics || !isWire(i)) return undefined;
  const counters: NicCounterSnapshot['counters'] = {};
  const counterSources: NicCounterSnapshot['counterSources'] = {};
  for (const [k, v] of Object.entries(i.statistics)) {
    const c = MAP[k];
    // OVS leaves out what a device cannot count; a negative or huge value is "unknown", not a count.
    if (c === undefined || typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) continue;
    counters[c] = v;
    counterSources[c] = `Interface statistics:${k}`;
  }
  if (Object.keys(counters).length === 0) return undefined;
  return {
    interface: i.name,
    class: 'physical',
    ...(i.driverName ? { driver: i.driverName } : {}),
    source: 'ovsdb',
    counters,
    counterSources,
    bits: 64,
  };
}

/**
 * The `netdiag_nic_*` series for DPDK ports, which the NIC collector cannot see (it exports the
 * kernel's NICs itself; a system port is left to it, so nothing is counted twice). Increases
 * between polls, as the NIC collector does; the first poll only creates the series.
 */
export class DpdkCounterExport {
  private readonly increases = new CounterIncreaseExport();

  publish(sink: MetricsSink, host: string, snap: NicCounterSnapshot, at: number): void {
    const one = (metric: string, labels: Record<string, string>, c: CanonicalCounter) => {
      const value = snap.counters[c];
      if (value !== undefined) this.increases.inc(sink, metric, labels, `${host}\0${snap.interface}\0${c}`, 'ovsdb', value, at);
    };
    for (const c of ERROR_COUNTERS) one('netdiag_nic_errors_total', { host, interface: snap.interface, counter: c }, c);
    one('netdiag_nic_receive_packets_total', { host, interface: snap.interface }, 'rx_packets');
  }
}
