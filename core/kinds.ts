/**
 * Observation kinds shared across layers: inventory and configuration that several analyzers
 * read (the MTU budget reads links, OVS interfaces and CloudStack networks; stale detection reads
 * CloudStack and NVP listings). Collector-private kinds live next to their collector.
 */

/** A network interface as the host sees it (sysfs, `ip link`, `ip -j link`). */
export interface LinkInfo {
  interface: string;
  /** physical | bond | bond_member | vlan | bridge | ovs_internal | tunnel | veth | tap | loopback | other */
  class: string;
  mtu?: number;
  operState?: string;
  /** For bond members: the bond; for VLANs: the parent. */
  master?: string;
  parent?: string;
  driver?: string;
  /** Tunnel devices (vxlan): encapsulation and remote/local when known. */
  tunnel?: { type: 'vxlan' | 'gre' | 'geneve' | 'stt'; id?: number; remote?: string; local?: string; dstPort?: number };
  carrierChanges?: number;
}

/** A row of OVSDB's Interface table joined with its Port and Bridge. */
export interface OvsInterfaceInfo {
  name: string;
  bridge?: string;
  type: string; // '' (system), internal, gre, vxlan, geneve, stt, patch, tap...
  ofport?: number; // -1 = OVS could not add it
  mtu?: number;
  mtuRequest?: number;
  options: Record<string, string>; // remote_ip, key, local_ip, dst_port, df_default...
  error?: string;
  externalIds: Record<string, string>; // iface-id, attached-mac, vm-id
  linkState?: string;
  statistics?: Record<string, number>;
}

/** An OVS bridge with its other_config (CloudStack keeps gre_key, ovs-host-setup there). */
export interface OvsBridgeInfo {
  name: string;
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
  datapathType?: string;
  ports: string[];
}

/** A CloudStack network as listNetworks returns it (fields netdiag uses). */
export interface CloudStackNetwork {
  id: string;
  name?: string;
  state?: string;
  broadcastdomaintype?: string;
  broadcasturi?: string;
  zoneid?: string;
  physicalnetworkid?: string;
  publicmtu?: number;
  privatemtu?: number;
  account?: string;
  domain?: string;
  vpcid?: string;
}

/** Whether an orchestrator listing was complete: analyzers that call things stale need `complete`. */
export interface ListingStatus {
  source: 'cloudstack' | 'nvp';
  /** what was listed, e.g. networks, hosts, lswitch */
  what: string;
  complete: boolean;
  error?: string;
  count: number;
}

declare module './observation.js' {
  interface ObservationMap {
    'net.link': LinkInfo;
    'ovs.interface': OvsInterfaceInfo;
    'ovs.bridge': OvsBridgeInfo;
    'cloudstack.network': CloudStackNetwork;
    'cloudstack.config': { name: string; value: string; scope?: string; zoneid?: string };
    'orchestrator.listing': ListingStatus;
  }
}
