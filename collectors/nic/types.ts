/**
 * The NIC collector's private observation kind: one snapshot of one interface's counters from one
 * source. Analyzers turn consecutive snapshots into increases with core/counters.ts.
 */

/** Canonical counter names, whatever the driver calls them (see README "Canonical counters"). */
export const CANONICAL_COUNTERS = [
  'rx_packets',
  'tx_packets',
  'rx_bytes',
  'tx_bytes',
  'rx_errors',
  'tx_errors',
  'rx_dropped',
  'tx_dropped',
  'crc_errors',
  'alignment_errors',
  'symbol_errors',
  'length_errors',
  'frame_errors',
  'rx_missed',
  'rx_over_errors',
  'rx_fifo_errors',
  'tx_carrier_errors',
  'carrier_changes',
] as const;

export type CanonicalCounter = (typeof CANONICAL_COUNTERS)[number];

/** The error counters published as `netdiag_nic_errors_total{counter=...}` (bounded label set). */
export const ERROR_COUNTERS: readonly CanonicalCounter[] = [
  'crc_errors',
  'alignment_errors',
  'symbol_errors',
  'length_errors',
  'frame_errors',
  'rx_missed',
  'rx_errors',
  'tx_errors',
  'rx_dropped',
];

/** `ovsdb`: OVS's Interface `statistics` column, the only counters of a DPDK port (the kernel does not see it). */
export type CounterSourceKind = 'sysfs' | 'ethtool' | 'ip-link' | 'ovsdb';

/** Interface classes (LinkInfo.class in core/kinds.ts). CRC logic runs on physical and bond_member. */
export type LinkClass =
  | 'physical'
  | 'bond'
  | 'bond_member'
  | 'vlan'
  | 'bridge'
  | 'ovs_internal'
  | 'tunnel'
  | 'veth'
  | 'tap'
  | 'loopback'
  | 'other';

export interface NicCounterSnapshot {
  interface: string;
  class: LinkClass;
  driver?: string;
  /** The bond this interface is a member of. */
  bond?: string;
  source: CounterSourceKind;
  /** Canonical counters present in this source; an absent counter is absent, never 0. */
  counters: Partial<Record<CanonicalCounter, number>>;
  /** For each canonical counter, the raw name(s) it was read from, e.g. `port.rx_crc_errors`. */
  counterSources: Partial<Record<CanonicalCounter, string>>;
  /** Every raw counter the source gave (ethtool -S: all keys, open-ended). */
  raw?: Record<string, number>;
  /** Counter width when known (sysfs/netlink stats64 are 64-bit). */
  bits?: 32 | 64;
}

declare module '../../core/observation.js' {
  interface ObservationMap {
    'nic.counters': NicCounterSnapshot;
  }
}

/** Classes where CRC/FCS errors mean something (a real wire or a virtual NIC's host side). */
export function crcRelevant(cls: string): boolean {
  return cls === 'physical' || cls === 'bond_member';
}
