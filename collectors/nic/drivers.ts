/**
 * Per-driver `ethtool -S` names → canonical counters. Every fact here is taken from the driver's
 * stat table in the Linux kernel (cited per driver in README.md "Canonical counters"); unknown
 * drivers fall back to the kernel's generic rtnl_link_stats64 names, which many drivers repeat in
 * `ethtool -S`. Keys not mapped here stay available, open-ended, in the snapshot's `raw`.
 */
import type { CanonicalCounter } from './types.js';

/** How one canonical counter is read: the first alternative whose keys are all present wins. */
interface Rule {
  counter: CanonicalCounter;
  /** Alternatives in order of preference; each is a list of keys (summed) or a pattern (summed over matches). */
  from: readonly (readonly string[] | RegExp)[];
}

const GENERIC: readonly Rule[] = [
  { counter: 'rx_packets', from: [['rx_packets']] },
  { counter: 'tx_packets', from: [['tx_packets']] },
  { counter: 'rx_bytes', from: [['rx_bytes']] },
  { counter: 'tx_bytes', from: [['tx_bytes']] },
  { counter: 'rx_errors', from: [['rx_errors']] },
  { counter: 'tx_errors', from: [['tx_errors']] },
  { counter: 'rx_dropped', from: [['rx_dropped']] },
  { counter: 'tx_dropped', from: [['tx_dropped']] },
  { counter: 'crc_errors', from: [['rx_crc_errors']] },
  { counter: 'frame_errors', from: [['rx_frame_errors']] },
  { counter: 'length_errors', from: [['rx_length_errors']] },
  { counter: 'rx_missed', from: [['rx_missed_errors']] },
  { counter: 'rx_over_errors', from: [['rx_over_errors']] },
  { counter: 'rx_fifo_errors', from: [['rx_fifo_errors']] },
  { counter: 'tx_carrier_errors', from: [['tx_carrier_errors']] },
];

/** Driver-specific rules; they take precedence over GENERIC for the same counter. */
const DRIVERS: Record<string, readonly Rule[]> = {
  // drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c ixgbe_gstrings_stats
  ixgbe: [
    { counter: 'length_errors', from: [['rx_length_errors'], ['rx_long_length_errors', 'rx_short_length_errors']] },
    { counter: 'rx_missed', from: [['rx_missed_errors']] },
  ],
  // drivers/net/ethernet/intel/i40e/i40e_ethtool.c i40e_gstrings_stats (port.* = PF/port level)
  i40e: [
    { counter: 'crc_errors', from: [['port.rx_crc_errors'], ['rx_crc_errors']] },
    { counter: 'length_errors', from: [['port.rx_length_errors'], ['rx_length_errors']] },
    { counter: 'symbol_errors', from: [['port.illegal_bytes']] },
    { counter: 'rx_dropped', from: [['rx_dropped'], ['port.rx_dropped'], ['port.rx_discards']] },
  ],
  // drivers/net/ethernet/intel/ice/ice_ethtool.c ice_gstrings_pf_stats: `*.nic` since
  // "ice: Format ethtool reported stats" (2019), `port.*` before it.
  ice: [
    { counter: 'crc_errors', from: [['rx_crc_errors.nic'], ['port.rx_crc_errors'], ['rx_crc_errors']] },
    { counter: 'length_errors', from: [['rx_length_errors.nic'], ['port.rx_length_errors'], ['rx_length_errors']] },
    { counter: 'symbol_errors', from: [['illegal_bytes.nic'], ['port.illegal_bytes']] },
    // ice_gstrings_vsi_stats has no rx_packets: unicast + multicast + broadcast (VSI level).
    // The port-level (`.nic`) counts match the port-level CRC counter; the VSI sums come after.
    { counter: 'rx_packets', from: [['rx_packets'], ['rx_unicast.nic', 'rx_multicast.nic', 'rx_broadcast.nic'], ['rx_unicast', 'rx_multicast', 'rx_broadcast']] },
    { counter: 'tx_packets', from: [['tx_packets'], ['tx_unicast.nic', 'tx_multicast.nic', 'tx_broadcast.nic'], ['tx_unicast', 'tx_multicast', 'tx_broadcast']] },
  ],
  // drivers/net/ethernet/mellanox/mlx5/core/en_stats.c pport_802_3_stats_desc; the netdev stats
  // (en_main.c mlx5e_get_stats) fold the same PPCNT registers into rx_crc/length/frame_errors.
  mlx5_core: [
    { counter: 'crc_errors', from: [['rx_crc_errors_phy'], ['rx_crc_errors']] },
    { counter: 'symbol_errors', from: [['rx_symbol_err_phy'], ['rx_pcs_symbol_err_phy']] },
    {
      counter: 'length_errors',
      from: [['rx_in_range_len_errors_phy', 'rx_out_of_range_len_phy', 'rx_oversize_pkts_phy'], ['rx_length_errors']],
    },
    { counter: 'rx_packets', from: [['rx_packets_phy'], ['rx_packets']] },
    { counter: 'tx_packets', from: [['tx_packets_phy'], ['tx_packets']] },
    { counter: 'rx_bytes', from: [['rx_bytes_phy'], ['rx_bytes']] },
    { counter: 'tx_bytes', from: [['tx_bytes_phy'], ['tx_bytes']] },
    { counter: 'rx_dropped', from: [['rx_discards_phy'], ['rx_dropped']] },
    { counter: 'rx_missed', from: [['rx_out_of_buffer']] },
  ],
  // drivers/net/ethernet/broadcom/bnxt/bnxt_ethtool.c bnxt_port_stats_arr; bnxt.c bnxt_get_stats64
  // folds rx_fcs_err_frames → rx_crc_errors, rx_align_err_frames → rx_frame_errors,
  // undrsz+ovrsz+runt → rx_length_errors.
  bnxt_en: [
    { counter: 'crc_errors', from: [['rx_fcs_err_frames']] },
    { counter: 'alignment_errors', from: [['rx_align_err_frames']] },
    { counter: 'length_errors', from: [['rx_undrsz_frames', 'rx_ovrsz_frames', 'rx_runt_frames'], ['rx_undrsz_frames', 'rx_ovrsz_frames']] },
    { counter: 'symbol_errors', from: [['rx_pcs_symbol_err']] },
    { counter: 'rx_packets', from: [['rx_total_frames'], ['rx_good_frames']] },
    { counter: 'tx_packets', from: [['tx_total_frames'], ['tx_good_frames']] },
  ],
  // drivers/net/ethernet/intel/igb/igb_ethtool.c igb_gstrings_stats + igb_gstrings_net_stats
  igb: [
    { counter: 'alignment_errors', from: [['rx_align_errors']] },
    { counter: 'length_errors', from: [['rx_length_errors'], ['rx_long_length_errors', 'rx_short_length_errors']] },
  ],
  // drivers/net/ethernet/intel/e1000e/ethtool.c e1000_gstrings_stats
  e1000e: [
    { counter: 'alignment_errors', from: [['rx_align_errors']] },
    { counter: 'length_errors', from: [['rx_length_errors'], ['rx_long_length_errors', 'rx_short_length_errors']] },
  ],
  // drivers/net/ethernet/broadcom/tg3.c ethtool_stats_keys; tg3_get_stats64 folds
  // rx_frame_too_long_errors + rx_undersize_packets → rx_length_errors, align → frame errors.
  tg3: [
    { counter: 'crc_errors', from: [['rx_fcs_errors']] },
    { counter: 'alignment_errors', from: [['rx_align_errors']] },
    { counter: 'length_errors', from: [['rx_frame_too_long_errors', 'rx_undersize_packets']] },
    { counter: 'rx_packets', from: [['rx_ucast_packets', 'rx_mcast_packets', 'rx_bcast_packets']] },
    { counter: 'tx_packets', from: [['tx_ucast_packets', 'tx_mcast_packets', 'tx_bcast_packets']] },
  ],
  // drivers/net/vmxnet3/vmxnet3_ethtool.c: per-queue sections; "fcs" under "drv dropped rx total"
  // counts frames the device flagged with a bad FCS (vmxnet3_drv.c vmxnet3_rx_error).
  vmxnet3: [
    { counter: 'crc_errors', from: [/^rxq\d+\.fcs$/] },
    { counter: 'rx_dropped', from: [/^rxq\d+\.drv dropped rx total$/] },
    { counter: 'rx_errors', from: [/^rxq\d+\.pkts rx err$/] },
    { counter: 'rx_packets', from: [/^rxq\d+\.(?:ucast|mcast|bcast) pkts rx$/] },
    { counter: 'tx_packets', from: [/^txq\d+\.(?:ucast|mcast|bcast) pkts tx$/] },
  ],
  // drivers/net/virtio_net.c: per-queue `rx_queue_N_*` (virtnet_rq_stats_desc), and since the
  // device-stats rework (virtnet_get_stats_string, ~6.10) `rxN_*` per queue plus `rx_*` totals;
  // no FCS counter at all.
  virtio_net: [
    { counter: 'rx_dropped', from: [['rx_drops'], /^rx_queue_\d+_drops$/, /^rx\d+_drops$/] },
    { counter: 'rx_packets', from: [['rx_packets'], /^rx_queue_\d+_packets$/, /^rx\d+_packets$/] },
    { counter: 'tx_packets', from: [['tx_packets'], /^tx_queue_\d+_packets$/, /^tx\d+_packets$/] },
  ],
  // drivers/net/veth.c: peer_ifindex and per-queue XDP counters only.
  veth: [{ counter: 'rx_dropped', from: [/^rx_queue_\d+_drops$/] }],
};

/** Aliases: driver names as `ethtool -i` or the sysfs driver link print them. */
const ALIASES: Record<string, string> = { mlx5e: 'mlx5_core', bnxt: 'bnxt_en', e1000: 'e1000e', virtio: 'virtio_net', 'virtio-net': 'virtio_net' };

export function normaliseDriver(driver: string | undefined): string | undefined {
  if (!driver) return undefined;
  const d = driver.trim().toLowerCase();
  return ALIASES[d] ?? d;
}

export const KNOWN_DRIVERS = Object.keys(DRIVERS);

/** Virtual drivers: `ethtool -S` works but there is no wire, so no CRC logic. */
const VIRTUAL_DRIVERS = new Set(['veth', 'tun', 'bridge', 'openvswitch', 'vxlan', 'bonding', '8021q', 'dummy', 'macvlan', 'ipvlan', 'geneve']);
export function isVirtualDriver(driver: string | undefined): boolean {
  return driver !== undefined && VIRTUAL_DRIVERS.has(driver);
}

/**
 * Guess the driver from the counter names when `ethtool -i` was not captured. Each signature is a
 * name only that driver's table has (see the driver tables above).
 */
export function guessDriver(keys: Iterable<string>): string | undefined {
  const set = new Set(keys);
  const has = (k: string) => set.has(k);
  const any = (re: RegExp) => [...set].some((k) => re.test(k));
  if (has('rx_crc_errors_phy') || has('rx_packets_phy')) return 'mlx5_core';
  if (has('rx_crc_errors.nic') || has('rx_bytes.nic')) return 'ice';
  // i40e and pre-2019 ice both use `port.*`; their CRC/length/symbol rules are the same.
  if (has('port.rx_crc_errors') || has('port.illegal_bytes')) return 'i40e';
  if (has('rx_fcs_err_frames')) return 'bnxt_en';
  if (has('rx_fcs_errors') && has('rx_frame_too_long_errors')) return 'tg3';
  if (any(/^rxq\d+\./)) return 'vmxnet3';
  if (has('peer_ifindex')) return 'veth';
  if (has('rx_pkts_nic') || has('fdir_match') || has('fdir_miss')) return 'ixgbe';
  if (has('rx_align_errors') && has('tx_dma_out_of_sync')) return 'igb';
  if (has('rx_align_errors') && has('rx_long_length_errors')) return 'e1000e';
  if (has('rx_kicks') || any(/^rx_queue_\d+_kicks$/) || any(/^rx\d+_kicks$/)) return 'virtio_net';
  return undefined;
}

export interface Canonicalised {
  counters: Partial<Record<CanonicalCounter, number>>;
  counterSources: Partial<Record<CanonicalCounter, string>>;
}

function apply(rule: Rule, raw: ReadonlyMap<string, number>): { value: number; source: string } | undefined {
  for (const alt of rule.from) {
    if (alt instanceof RegExp) {
      let sum = 0;
      let n = 0;
      for (const [k, v] of raw) {
        if (alt.test(k)) {
          sum += v;
          n++;
        }
      }
      if (n > 0) return { value: sum, source: `sum of ${n} × ${alt.source}` };
    } else if (alt.every((k) => raw.has(k))) {
      return { value: alt.reduce((s, k) => s + raw.get(k)!, 0), source: alt.join(' + ') };
    }
  }
  return undefined;
}

/** Map one `ethtool -S` key set to canonical counters, driver rules first, generic names second. */
export function canonicalise(driver: string | undefined, raw: ReadonlyMap<string, number>): Canonicalised {
  const out: Canonicalised = { counters: {}, counterSources: {} };
  const rules = [...(DRIVERS[normaliseDriver(driver) ?? ''] ?? []), ...GENERIC];
  for (const rule of rules) {
    if (out.counters[rule.counter] !== undefined) continue;
    const r = apply(rule, raw);
    if (r) {
      out.counters[rule.counter] = r.value;
      out.counterSources[rule.counter] = r.source;
    }
  }
  return out;
}
