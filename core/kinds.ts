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
  /** The ofport asked for (`ofport_request`); kept by OVSDB when adding the interface failed. */
  ofportRequest?: number;
  mtu?: number;
  mtuRequest?: number;
  options: Record<string, string>; // remote_ip, key, local_ip, dst_port, df_default...
  error?: string;
  externalIds: Record<string, string>; // iface-id, attached-mac, vm-id
  linkState?: string;
  statistics?: Record<string, number>;
  /** `status:driver_name` (ixgbe, veth, tun, openvswitch...; DPDK ports name their PMD). */
  driverName?: string;
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

/** A CloudStack host as listHosts returns it (fields netdiag uses; no numeric db id in the API). */
export interface CloudStackHost {
  id: string;
  name?: string;
  type?: string; // Routing | L2Networking (the NVP device host) | ...
  state?: string;
  resourcestate?: string;
  ipaddress?: string;
  zoneid?: string;
  hypervisor?: string;
}

/** An NVP device as listNiciraNvpDevices returns it (reference/cloudstack.md §2.9). */
export interface CloudStackNvpDevice {
  nvpdeviceid: string;
  physicalnetworkid?: string;
  provider?: string;
  niciradevicename?: string;
  hostname?: string;
  transportzoneuuid?: string;
  l3gatewayserviceuuid?: string;
  l2gatewayserviceuuid?: string;
}

/** An NVP logical switch with its ports, from `GET /ws.v1/lswitch?fields=*` and its `lport` lists. */
export interface NvpLswitchInfo {
  uuid: string;
  displayName?: string;
  tags: { scope: string; tag: string }[];
  /** `transport_zones[].zone_uuid`: links the switch to the CloudStack NVP device (its `transportzoneuuid`). */
  transportZones?: string[];
  /** Creation time (ms since the epoch) when the controller reports it (`_create_time`). */
  created?: number;
  /** Undefined when the ports were not listed (or their listing failed). */
  ports?: { uuid: string; displayName?: string; attachmentType?: string; vifUuid?: string }[];
  /** Which NVP controller listed it (base URL without credentials, or the saved file). */
  controller?: string;
}

/** `GET /ws.v1/control-cluster/status` of an NVP controller cluster. */
export interface NvpClusterStatusInfo {
  controller?: string;
  clusterStatus: string;
  /** `<x>_stats` objects: error_state_count / registered_count / active_count. */
  stats: Record<string, { error_state_count?: number; registered_count?: number; active_count?: number }>;
  apiVersion?: string;
}

declare module './observation.js' {
  interface ObservationMap {
    'net.link': LinkInfo;
    'ovs.interface': OvsInterfaceInfo;
    'ovs.bridge': OvsBridgeInfo;
    'cloudstack.network': CloudStackNetwork;
    'cloudstack.config': { name: string; value: string; scope?: string; zoneid?: string };
    'orchestrator.listing': ListingStatus;
    'cloudstack.host': CloudStackHost;
    'cloudstack.nvpdevice': CloudStackNvpDevice;
    'nvp.lswitch': NvpLswitchInfo;
    'nvp.cluster': NvpClusterStatusInfo;
  }
}
