/**
 * The seeded inventory shared by the CloudStack and NVP simulators (and the demo): one zone with
 * an STT physical network managed by an NVP controller and a GRE physical network for the OVS
 * plugin. Known leaks are marked so end-to-end tests can assert exactly them.
 *
 * Field names follow the API JSON (CloudStack: lowercase as listNetworks returns them; NVP: the
 * underscore names of /ws.v1).
 */

export const ZONE_ID = '7f3b2c1a-0000-4a00-8000-00000000z001';
export const PHYSNET_STT_ID = '7f3b2c1a-0000-4a00-8000-0000000pn001';
export const PHYSNET_GRE_ID = '7f3b2c1a-0000-4a00-8000-0000000pn002';
export const NVP_DEVICE_ID = '7f3b2c1a-0000-4a00-8000-00000000d001';
export const TRANSPORT_ZONE_UUID = '5a1c3e9d-7b2f-4e10-9c3a-2d4f6b8a0c11';

export interface SeedNetwork {
  id: string;
  name: string;
  displaytext: string;
  state: 'Allocated' | 'Implementing' | 'Implemented' | 'Setup' | 'Shutdown' | 'Destroy';
  broadcastdomaintype: 'Lswitch' | 'Vswitch' | 'Vlan' | 'Vxlan';
  broadcasturi?: string;
  physicalnetworkid: string;
  zoneid: string;
  account: string;
  domain: string;
  traffictype: 'Guest';
  type: 'Isolated' | 'Shared';
  publicmtu?: number;
  privatemtu?: number;
  cidr?: string;
  gateway?: string;
}

const net = (n: Partial<SeedNetwork> & Pick<SeedNetwork, 'id' | 'name' | 'state' | 'broadcastdomaintype' | 'physicalnetworkid'>): SeedNetwork => ({
  displaytext: n.name,
  zoneid: ZONE_ID,
  account: 'admin',
  domain: 'ROOT',
  traffictype: 'Guest',
  type: 'Isolated',
  publicmtu: 1500,
  privatemtu: 1500,
  ...n,
});

/** lswitch uuids; `LEAKED_*` have CloudStack's tag but no CloudStack network references them. */
export const LSWITCH_WEB = '1f0e7a52-8c3d-4c1e-9a61-0a1b2c3d0001';
export const LSWITCH_DB = '1f0e7a52-8c3d-4c1e-9a61-0a1b2c3d0002';
export const LSWITCH_SHARED = '1f0e7a52-8c3d-4c1e-9a61-0a1b2c3d0003';
export const LEAKED_LSWITCH_OLD = '9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0101';
export const LEAKED_LSWITCH_TRUNCATED_TAG = '9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0102';
/** No cs_account tag: not CloudStack's, never called leaked. */
export const FOREIGN_LSWITCH = 'e2d3c4b5-a697-4881-9a0b-1c2d3e4f0201';

export const networks: SeedNetwork[] = [
  net({ id: 'b6a1c2d3-0001-4e5f-8a9b-000000000101', name: 'web-tier', state: 'Implemented', broadcastdomaintype: 'Lswitch', broadcasturi: `lswitch:${LSWITCH_WEB}`, physicalnetworkid: PHYSNET_STT_ID, cidr: '10.1.1.0/24', gateway: '10.1.1.1' }),
  net({ id: 'b6a1c2d3-0001-4e5f-8a9b-000000000102', name: 'db-tier', state: 'Implemented', broadcastdomaintype: 'Lswitch', broadcasturi: `lswitch:${LSWITCH_DB}`, physicalnetworkid: PHYSNET_STT_ID, cidr: '10.1.2.0/24', gateway: '10.1.2.1', account: 'acme', domain: 'customers' }),
  net({ id: 'b6a1c2d3-0001-4e5f-8a9b-000000000103', name: 'shared-services', state: 'Setup', broadcastdomaintype: 'Lswitch', broadcasturi: `lswitch:${LSWITCH_SHARED}`, physicalnetworkid: PHYSNET_STT_ID, type: 'Shared' }),
  // Shut down after "DeleteLogicalSwitchCommand failed": CloudStack forgot its lswitch (LEAKED_LSWITCH_OLD).
  net({ id: 'b6a1c2d3-0001-4e5f-8a9b-000000000104', name: 'old-project', state: 'Allocated', broadcastdomaintype: 'Lswitch', physicalnetworkid: PHYSNET_STT_ID }),
  net({ id: 'b6a1c2d3-0002-4e5f-8a9b-000000000201', name: 'gre-app', state: 'Implemented', broadcastdomaintype: 'Vswitch', broadcasturi: 'vswitch://2046', physicalnetworkid: PHYSNET_GRE_ID, privatemtu: 1500 }),
  net({ id: 'b6a1c2d3-0002-4e5f-8a9b-000000000202', name: 'gre-batch', state: 'Implemented', broadcastdomaintype: 'Vswitch', broadcasturi: 'vswitch://2047', physicalnetworkid: PHYSNET_GRE_ID }),
  // OVSTunnel2048 on the hypervisors is left over: no network has vswitch://2048 any more.
];

export interface SeedHost {
  id: string;
  /** The numeric database id CloudStack uses in tunnel port names t<key>-<from>-<to>. */
  dbId: number;
  name: string;
  type: 'Routing' | 'L2Networking';
  state: 'Up' | 'Down' | 'Disconnected' | 'Alert';
  resourcestate: 'Enabled' | 'Disabled' | 'Maintenance' | 'PrepareForMaintenance';
  ipaddress: string;
  hypervisor?: 'KVM';
  zoneid: string;
}

export const hosts: SeedHost[] = [
  { id: 'c0ffee00-0000-4000-8000-000000000003', dbId: 3, name: 'hv-01', type: 'Routing', state: 'Up', resourcestate: 'Enabled', ipaddress: '192.0.2.11', hypervisor: 'KVM', zoneid: ZONE_ID },
  { id: 'c0ffee00-0000-4000-8000-000000000004', dbId: 4, name: 'hv-02', type: 'Routing', state: 'Up', resourcestate: 'Enabled', ipaddress: '192.0.2.12', hypervisor: 'KVM', zoneid: ZONE_ID },
  { id: 'c0ffee00-0000-4000-8000-000000000009', dbId: 9, name: 'Nicira Controller - 192.0.2.50', type: 'L2Networking', state: 'Up', resourcestate: 'Enabled', ipaddress: '192.0.2.50', zoneid: ZONE_ID },
  // Host 5 (hv-03) was removed; tunnel ports t2046-3-5 towards it are stale.
];

export const physicalNetworks = [
  { id: PHYSNET_STT_ID, name: 'phys-stt', isolationmethods: 'STT', state: 'Enabled', zoneid: ZONE_ID, broadcastdomainrange: 'ZONE' },
  { id: PHYSNET_GRE_ID, name: 'phys-gre', isolationmethods: 'GRE', state: 'Enabled', zoneid: ZONE_ID, broadcastdomainrange: 'ZONE' },
];

export const zones = [{ id: ZONE_ID, name: 'zone-1', networktype: 'Advanced', allocationstate: 'Enabled' }];

export const nvpDevices = [
  {
    nvpdeviceid: NVP_DEVICE_ID,
    physicalnetworkid: PHYSNET_STT_ID,
    provider: 'NiciraNvp',
    niciradevicename: 'NiciraNvp',
    hostname: '192.0.2.50',
    transportzoneuuid: TRANSPORT_ZONE_UUID,
  },
];

export const configurations = [
  { category: 'Network', name: 'vr.public.interface.max.mtu', value: '1500', scope: 'zone', isdynamic: true, description: 'The maximum value the MTU can have on the VR\'s public interfaces' },
  { category: 'Network', name: 'vr.private.interface.max.mtu', value: '1500', scope: 'zone', isdynamic: true, description: 'The maximum value the MTU can have on the VR\'s private interfaces' },
  { category: 'Network', name: 'allow.end.users.to.specify.vr.mtu', value: 'false', scope: 'zone', isdynamic: true, description: 'Allow end users to specify VR MTU' },
  { category: 'Advanced', name: 'network.gc.interval', value: '600', isdynamic: true, description: 'Seconds to wait before checking for networks to shutdown' },
  { category: 'Advanced', name: 'network.gc.wait', value: '600', isdynamic: true, description: "Time (in seconds) to wait before shutting down a network that's not in used" },
];

// ---- NVP side ----------------------------------------------------------------------------

export interface SeedLswitch {
  uuid: string;
  display_name: string;
  tags: { scope: string; tag: string }[];
  /** ISO time the switch was created (the simulator reports it; grace-period logic uses it). */
  created: string;
  ports: { uuid: string; display_name: string; vif_uuid?: string }[];
}

const tag = (t: string) => [{ scope: 'cs_account', tag: t.slice(0, 40) }];

export const lswitches: SeedLswitch[] = [
  { uuid: LSWITCH_WEB, display_name: 'lswitch-web-tier', tags: tag('ROOT-admin'), created: '2026-01-10T09:00:00Z', ports: [
    { uuid: 'aa000001-0000-4000-8000-000000000001', display_name: 'web-1', vif_uuid: 'd1c10001-0000-4000-8000-0000000000a1' },
    { uuid: 'aa000001-0000-4000-8000-000000000002', display_name: 'web-2', vif_uuid: 'd1c10001-0000-4000-8000-0000000000a2' },
  ] },
  { uuid: LSWITCH_DB, display_name: 'lswitch-db-tier', tags: tag('customers-acme'), created: '2026-02-01T12:00:00Z', ports: [
    { uuid: 'aa000002-0000-4000-8000-000000000001', display_name: 'db-1', vif_uuid: 'd1c10002-0000-4000-8000-0000000000b1' },
  ] },
  { uuid: LSWITCH_SHARED, display_name: 'lswitch-shared-services', tags: tag('ROOT-admin'), created: '2026-03-01T08:00:00Z', ports: [] },
  { uuid: LEAKED_LSWITCH_OLD, display_name: 'lswitch-old-project', tags: tag('ROOT-admin'), created: '2025-06-15T10:30:00Z', ports: [
    { uuid: 'aa000003-0000-4000-8000-000000000001', display_name: 'old-vm-1', vif_uuid: 'd1c10003-0000-4000-8000-0000000000c1' },
  ] },
  { uuid: LEAKED_LSWITCH_TRUNCATED_TAG, display_name: 'lswitch-analytics-pipeline-staging-envir', tags: tag('customers-verylongaccountnameforanalyticsteam'), created: '2025-09-20T16:45:00Z', ports: [] },
  { uuid: FOREIGN_LSWITCH, display_name: 'openstack-transit', tags: [{ scope: 'os_tid', tag: 'f00dcafe' }], created: '2024-12-01T00:00:00Z', ports: [] },
];

export const nvpCredentials = { user: 'admin', password: 'nvp-lab-password' };
export const cloudstackCredentials = {
  apiKey: 'plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg',
  secretKey: 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ',
};

/** What an end-to-end diagnose against the seeded simulators must call stale, and only that. */
export const expectedLeaks = {
  lswitches: [LEAKED_LSWITCH_OLD, LEAKED_LSWITCH_TRUNCATED_TAG],
  ovsBridges: ['OVSTunnel2048'],
  /** Tunnel ports towards the removed host 5 (on hv-01, id 3), in live bridges. */
  ovsTunnelPorts: ['t2046-3-5'],
};
