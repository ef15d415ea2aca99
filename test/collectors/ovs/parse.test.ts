import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpFlowsFile, listBrFile, ofctlShowFile, vsctlJsonFile, vsctlShowFile } from '../../../collectors/ovs/index.js';
import { latestFlows } from '../../../collectors/ovs/model.js';
import { bridgeFromCommand, bridgeFromFileName, outputActions, parseActions, parseDumpFlows, parseFlowLine, parseOvsdbDatum, parseOvsdbListText } from '../../../collectors/ovs/parse.js';
import { memoryInput } from '../../../core/input.js';
import { ObservationStore } from '../../../core/observation.js';
import { nullLogger, nullMetrics } from '../../../core/plugin.js';
import { recognise } from '../../../engine/pipeline.js';

const FIX = join(__dirname, '..', '..', 'fixtures', 'ovs');
const fixture = (f: string) => readFileSync(join(FIX, f), 'utf8');

describe('parseDumpFlows on captured Open vSwitch 3.1 output', () => {
  it.each(['dump-flows-of10.txt', 'dump-flows-of13.txt', 'dump-flows-names.txt', 'dump-flows-of13-names.txt', 'dump-flows-noheader.txt'])('%s: every line is a flow, nothing skipped', (f) => {
    const r = parseDumpFlows(fixture(f));
    expect(r.flows).toHaveLength(17);
    expect(r.skipped).toEqual([]);
    expect(r.names).toBe(f.includes('names'));
    const keys = new Set(r.flows.map((x) => `${x.table}/${x.priority}`));
    expect(keys.size).toBe(16); // the two priority-1000 tunnel drops share table and priority
  });

  it('reads the OpenFlow 1.3 form: reply header, reset_counts, send_flow_rem, no idle_age', () => {
    const r = parseDumpFlows(fixture('dump-flows-of13.txt'));
    expect(r.protocol).toBe('OF1.3');
    const f = r.flows.find((x) => x.priority === 12)!;
    expect(f).toMatchObject({ table: 1, idleTimeout: 300, hardTimeout: 600, flags: ['send_flow_rem', 'reset_counts'], match: 'udp' });
    expect(f.idleAge).toBeUndefined();
    expect(f.actions.map((a) => a.name)).toEqual(['push_vlan', 'set_field', 'load', 'move', 'pop_vlan', 'controller', 'local', 'in_port']);
  });

  it('reads --names: quoted port names in matches, outputs and resubmit', () => {
    const r = parseDumpFlows(fixture('dump-flows-names.txt'));
    const bc = r.flows.find((x) => x.priority === 1000 && x.match.includes('dl_dst'))!;
    expect(bc.fields[0]).toEqual({ name: 'in_port', value: 't2046-3-4', quoted: true });
    const flood = r.flows.find((x) => x.priority === 1100)!;
    expect(flood.cookie).toBe('0x6f');
    expect(flood.actions.map((a) => a.port)).toEqual(['t2046-3-4', 't2046-3-5']);
    const learn = r.flows.find((x) => x.priority === 11)!;
    expect(learn.actions).toHaveLength(2);
    expect(learn.actions[0]!.name).toBe('learn');
    expect(learn.actions[1]).toMatchObject({ name: 'resubmit', port: 't2046-3-4', table: 2 });
  });

  it('parses matches with masks, registers, ct_state, tun_id, and counters', () => {
    const r = parseDumpFlows(fixture('dump-flows-of10.txt'));
    const ct = r.flows.find((x) => x.priority === 10)!;
    expect(ct.fields).toEqual([{ name: 'ct_state', value: '+est+trk' }, { name: 'ip' }, { name: 'reg0', value: '0x5', mask: '0xff' }]);
    expect(ct.actions[0]).toMatchObject({ name: 'ct', arg: 'commit,zone=5,exec(load:0x1->NXM_NX_CT_MARK[])' });
    expect(r.flows.find((x) => x.priority === 50)!.fields).toEqual([{ name: 'tun_id', value: '0x7fe' }]);
    const d = r.flows.find((x) => x.priority === 100)!;
    expect(d).toMatchObject({ drop: true, packets: 5, bytes: 490, match: 'ip' });
    expect(r.flows.find((x) => x.priority === 0 && x.table === 0)).toMatchObject({ match: '', drop: false, actions: [{ name: 'normal' }] });
  });

  it('keeps unknown things verbatim and never throws', () => {
    const f = parseFlowLine(' cookie=0x1, duration=1.5s, table=3, n_packets=7, n_bytes=9, frobs=4, priority=5,newfield=1 actions=futureaction(a,(b,c)),output:"x y",2')!;
    expect(f.extra).toEqual({ frobs: '4' });
    expect(f.fields).toEqual([{ name: 'newfield', value: '1' }]);
    expect(f.actions.map((a) => [a.name, a.port])).toEqual([['futureaction', undefined], ['output', 'x y'], ['output', '2']]);
    expect(parseFlowLine(' priority=1 actions=')!.drop).toBe(true);
    expect(parseActions('group:1,enqueue:3:2').map((a) => [a.name, a.port])).toEqual([['group', undefined], ['enqueue', '3']]);
    const r = parseDumpFlows('garbage here\n cookie=0x0, table=0, n_packets=1, n_bytes=2, priority=1 actions=drop\n');
    expect(r.flows).toHaveLength(1);
    expect(r.skipped).toEqual([{ line: 1, text: 'garbage here' }]);
  });

  it('finds the bridge from the command or the file name', () => {
    expect(bridgeFromCommand('ovs-ofctl -O OpenFlow13 --names dump-flows OVSTunnel2046')).toBe('OVSTunnel2046');
    expect(bridgeFromFileName('/b/hv-01/dump-flows-OVSTunnel2046.txt')).toBe('OVSTunnel2046');
    expect(bridgeFromFileName('ovs-ofctl_dump-flows_br-int.txt.gz')).toBe('br-int');
  });
});

describe('OVS file collectors recognise captured outputs by content', () => {
  const cases: [string, string][] = [
    ['dump-flows-of10.txt', 'ovs-dump-flows'],
    ['dump-flows-of13-names.txt', 'ovs-dump-flows'],
    ['dump-flows-brint-of10-refused.txt', 'ovs-dump-flows'],
    ['show-of10.txt', 'ovs-ofctl-show'],
    ['show-brint-of13.txt', 'ovs-ofctl-show'],
    ['vsctl-show.txt', 'ovs-vsctl-show'],
    ['list-interface.json', 'ovs-vsctl-json'],
    ['list-bridge.json', 'ovs-vsctl-json'],
    ['list-port.json', 'ovs-vsctl-json'],
  ];
  it.each(cases)('%s → %s (with and without the # command: header)', (f, type) => {
    const text = fixture(f);
    expect(recognise(memoryInput(f, text))?.type).toBe(type);
    if (f !== 'dump-flows-brint-of10-refused.txt') expect(recognise(memoryInput('x', text.replace(/^#.*\n/gm, '')))?.type).toBe(type);
  });
  it('does not claim unrelated text', () => {
    for (const c of [dumpFlowsFile, ofctlShowFile, vsctlShowFile, vsctlJsonFile]) expect(c.sniff(memoryInput('n', 'hello world\n{"a":1}\n'))).toBe(0);
  });

  it('two snapshots of a bridge give packets/s, and a re-added flow counts from zero', async () => {
    const store = new ObservationStore();
    const ctx = { emit: (o: never) => store.add(o), metrics: nullMetrics, log: nullLogger };
    const mk = (at: string, dur: number, pk: number, dur2: number, pk2: number) =>
      `# command: ovs-ofctl dump-flows br0\n# collected-at: ${at}\n cookie=0x0, duration=${dur}s, table=0, n_packets=${pk}, n_bytes=1, priority=5,ip actions=drop\n cookie=0x0, duration=${dur2}s, table=0, n_packets=${pk2}, n_bytes=1, priority=6,arp actions=drop\n`;
    await dumpFlowsFile.read(memoryInput('a', mk('2026-01-01T00:00:00Z', 100, 1000, 100, 500)), ctx as never);
    await dumpFlowsFile.read(memoryInput('b', mk('2026-01-01T00:00:10Z', 110, 1500, 4, 40)), ctx as never);
    const [bf] = latestFlows(store);
    expect(bf!.intervalSeconds).toBe(10);
    expect(bf!.flows[0]).toMatchObject({ packetsIncrease: 500, packetsPerSecond: 50 });
    expect(bf!.flows[1]).toMatchObject({ packetsIncrease: 40, reset: true, packetsPerSecond: 4 });
  });
});

describe('every dump-flows print form of OVS 3.1 (test/fixtures/ovs/capture-forms.sh)', () => {
  const forms = ['dump-flows-forms-of10.txt', 'dump-flows-forms-of15.txt', 'dump-flows-forms-of15-names.txt', 'dump-flows-forms-no-stats.txt'];
  it.each(forms)('%s: 17 flows, nothing skipped, matches and actions parsed the same way', (f) => {
    const r = parseDumpFlows(fixture(f));
    expect(r.flows).toHaveLength(17);
    expect(r.skippedLines).toBe(0);
    expect(r.incomplete).toBeUndefined();
    const by = (t: number, p: number) => r.flows.filter((x) => x.table === t && x.priority === p);
    // ct_state with -/+ flags, masks on tun_id, registers, IPv6 prefixes, ports, tcp_flags.
    expect(by(1, 80)[0]!.fields).toEqual([{ name: 'ct_state', value: '-new+est-rel+trk' }, { name: 'ip' }]);
    expect(by(1, 70)[0]!.fields).toEqual([
      { name: 'ipv6' },
      { name: 'reg3', value: '0x10', mask: '0xf0' },
      { name: 'tun_id', value: '0x7fe', mask: '0xfff' },
      { name: 'ipv6_dst', value: 'fd00::', mask: '64' },
    ]);
    expect(by(2, 50)[0]!.fields).toEqual([{ name: 'tcp' }, { name: 'tp_dst', value: '0x1000', mask: '0xf000' }, { name: 'tcp_flags', value: '+syn-ack' }]);
    // Default priority (32768) is not printed: `ip actions=drop` and a match-all `actions=...`.
    expect(by(6, 32768).map((x) => [x.match, x.drop])).toEqual([['ip', true], ['', false]]);
    expect(by(6, 7)[0]).toMatchObject({ match: 'vlan_tci=0x0000/0x1fff,dl_src=02:00:00:00:00:09', drop: true });
    // ct(...) with nested nat(...), learn(...) with nested commas, clone(...), check_pkt_larger(...)->field.
    expect(by(1, 80)[0]!.actions.map((a) => a.name)).toEqual(['ct', 'output']);
    expect(by(1, 80)[0]!.actions[0]!.arg).toBe('commit,zone=NXM_NX_REG6[0..15],nat(src=192.0.2.1-192.0.2.9:1000-2000)');
    const learn = by(2, 50)[0]!;
    expect(learn.actions.map((a) => a.name)).toEqual(['learn', 'clone', 'multipath']);
    expect(outputActions(learn.actions).map((a) => a.port)).toEqual([f.includes('names') ? 't2046-3-4' : '1']);
    expect(by(3, 30)[0]!.actions.map((a) => [a.name, a.arg])).toEqual([
      ['check_pkt_larger', '1500'],
      ['bundle', `eth_src,0,hrw,ofport,members:${f.includes('names') ? '"t2046-3-4"' : '1'}`],
      ['controller', 'reason=no_match,max_len=128,userdata=01.02'],
    ]);
    expect(by(4, 20)[0]!.actions[0]).toMatchObject({ name: 'output', port: f.includes('names') ? 't2046-3-4' : '1' });
    expect(by(1, 60).map((x) => x.actions[0]!.name).sort()).toEqual(['conjunction', 'drop']);
    expect(by(0, 400)[0]!.actions[0]).toMatchObject({ name: 'output', port: '5' });
    expect(r.names).toBe(f.includes('names'));
  });

  it('reads every statistic: importance (OF1.5), hard_age, flags before idle_age, timeouts, --no-stats', () => {
    const of10 = parseDumpFlows(fixture('dump-flows-forms-of10.txt'));
    expect(of10.flows.find((x) => x.table === 5)).toMatchObject({ idleTimeout: 60, hardTimeout: 120, idleAge: expect.any(Number), hardAge: expect.any(Number), flags: [] });
    const of15 = parseDumpFlows(fixture('dump-flows-forms-of15.txt'));
    expect(of15.protocol).toBe('OF1.5');
    expect(of15.flows.find((x) => x.priority === 90)).toMatchObject({ importance: 7, flags: [] });
    expect(of15.flows.find((x) => x.priority === 80)!.flags).toEqual(['send_flow_rem', 'check_overlap']);
    expect(of15.flows.find((x) => x.priority === 1000)).toMatchObject({ flags: ['reset_counts'], idleAge: expect.any(Number), packets: 0, bytes: 0 });
    expect(of15.flows.every((x) => x.extra === undefined)).toBe(true);
    const ns = parseDumpFlows(fixture('dump-flows-forms-no-stats.txt'));
    expect(ns.flows.find((x) => x.table === 5)).toMatchObject({ idleTimeout: 60, hardTimeout: 120, priority: 10, match: 'in_port=LOCAL' });
    expect(ns.flows.every((x) => x.packets === undefined && x.durationSeconds === undefined)).toBe(true);
    expect(recognise(memoryInput('x', fixture('dump-flows-forms-no-stats.txt').replace(/^#.*\n/gm, '')))?.type).toBe('ovs-dump-flows');
  });

  it('an OpenFlow 1.0 dump that hits an OpenFlow 1.3 instruction list is incomplete (decode error), not silently short', async () => {
    const r = parseDumpFlows(fixture('dump-flows-decode-error-of10.txt'));
    expect(r.flows.length).toBeGreaterThan(5);
    expect(r.flows.length).toBeLessThan(18);
    expect(r.incomplete).toMatch(/^decode error OFPBAC_UNSUPPORTED_ORDER/);
    expect(r.undecodedLines).toBeGreaterThan(50);
    expect(r.skippedLines).toBe(0);
    // The same table in OpenFlow 1.3 prints every flow, the metered one included.
    const of13 = parseDumpFlows(fixture('dump-flows-decode-error-of13.txt'));
    expect(of13.flows).toHaveLength(18);
    expect(of13.incomplete).toBeUndefined();
    expect(of13.flows.find((x) => x.priority === 21)!.actions.map((a) => a.name)).toEqual(['meter', 'write_metadata', 'goto_table']);

    const store = new ObservationStore();
    const ctx = { emit: (o: never) => store.add(o), metrics: nullMetrics, log: nullLogger };
    const stats = await dumpFlowsFile.read(memoryInput('hv-01/df.txt', fixture('dump-flows-decode-error-of10.txt'), { host: 'hv-01' }), ctx as never);
    expect(stats.warnings?.join(' ')).toMatch(/incomplete dump, \d+ flow\(s\) read: decode error OFPBAC_UNSUPPORTED_ORDER/);
    expect(store.get('ovs.flows')[0]!.data.flows).toHaveLength(r.flows.length);
    expect(store.get('ovs.poll_failure')[0]!.data).toMatchObject({ bridge: 'OVSTunnel2046', command: 'dump-flows', partial: true });
    // --names gives up with an error line and no flow at all: a plain failure.
    const store2 = new ObservationStore();
    await dumpFlowsFile.read(memoryInput('n.txt', fixture('dump-flows-decode-error-names.txt')), { emit: (o: never) => store2.add(o), metrics: nullMetrics, log: nullLogger } as never);
    expect(store2.get('ovs.flows')).toHaveLength(0);
    expect(store2.get('ovs.poll_failure')[0]!.data).toMatchObject({ command: 'dump-flows', error: expect.stringMatching(/Protocol error/) });
    expect(store2.get('ovs.poll_failure')[0]!.data.partial).toBeUndefined();
    // When the first flow is the undecodable one, the error shares the reply header's line.
    const first = parseDumpFlows(fixture('dump-flows-decode-error-first-of10.txt'));
    expect(first.flows).toHaveLength(0);
    expect(first.incomplete).toMatch(/^decode error OFPBAC_UNSUPPORTED_ORDER.*-O OpenFlow13/);
    const store3 = new ObservationStore();
    const st3 = await dumpFlowsFile.read(memoryInput('f.txt', fixture('dump-flows-decode-error-first-of10.txt')), { emit: (o: never) => store3.add(o), metrics: nullMetrics, log: nullLogger } as never);
    expect(st3.skipped).toBeGreaterThan(0);
    expect(store3.get('ovs.poll_failure')[0]!.data).toMatchObject({ bridge: 'OVSTunnel2048', error: expect.stringMatching(/^decode error OFPBAC_UNSUPPORTED_ORDER/) });
  });

  it('reads ofport_request and the error of an interface OVS could not add; list-br by its header', async () => {
    const store = new ObservationStore();
    const ctx = { emit: (o: never) => store.add(o), metrics: nullMetrics, log: nullLogger };
    await vsctlJsonFile.read(memoryInput('i.json', fixture('list-interface-ofport-request.json')), ctx as never);
    const row = (n: string) => store.get('ovs.interface').find((o) => o.data.name === n)!.data;
    expect(row('t2046-3-7')).toMatchObject({ ofport: -1, ofportRequest: 5, error: expect.stringMatching(/File exists/) });
    // Every Interface column the analyzers use: type, ofport, mtu, mtu_request, options, error, external_ids.
    expect(row('t2046-3-4')).toEqual({ name: 't2046-3-4', type: 'gre', ofport: 1, ofportRequest: 1, options: { key: '2046', remote_ip: '192.0.2.12' }, externalIds: {}, linkState: expect.any(String), statistics: expect.any(Object) });
    expect(row('vnet0')).toMatchObject({ type: '', ofport: 3, mtu: 1450, mtuRequest: 1450, externalIds: { 'iface-id': '3b8f4b9e-1111-4c4c-9a9a-000000000001', 'attached-mac': '02:00:0a:01:01:08', 'vm-id': 'i-2-8-VM' } });
    expect(row('vnet0').error).toBeUndefined();
    expect(recognise(memoryInput('list-br.txt', fixture('list-br.txt')))?.type).toBe('ovs-vsctl-list-br');
    expect(recognise(memoryInput('x', fixture('list-br.txt').replace(/^#.*\n/gm, '')))).toBeUndefined();
    const s2 = new ObservationStore();
    const st = await listBrFile.read(memoryInput('list-br.txt', fixture('list-br.txt')), { emit: (o: never) => s2.add(o), metrics: nullMetrics, log: nullLogger } as never);
    expect(st.records).toBe(4);
    expect(s2.get('ovs.bridge').map((o) => o.data.name)).toEqual(['OVSTunnel2046', 'OVSTunnel2048', 'br-int', 'cloudbr0']);
  });
});

describe('ovs-appctl bridge/dump-flows lines (OVS 3.1)', () => {
  it('table_id, no cookie, the match glued to actions= by a comma', () => {
    const t1 = parseFlowLine('table_id=1, duration=0s, n_packets=4, n_bytes=392, priority=90,in_port=3,actions=bundle(eth_src,0,hrw,ofport,members:3,98)')!;
    expect(t1).toMatchObject({ table: 1, priority: 90, match: 'in_port=3', packets: 4, bytes: 392 });
    expect(t1.actions[0]).toMatchObject({ name: 'bundle', members: ['3', '98'] });
    expect(parseFlowLine('duration=0s, n_packets=0, n_bytes=0, priority=0,actions=NORMAL')).toMatchObject({ table: 0, priority: 0, match: '', actionsText: 'NORMAL' });
    const off = parseFlowLine('duration=5s, n_packets=7, n_bytes=0, n_offload_packets=0, n_offload_bytes=0, priority=100,ip,nw_dst=10.0.0.1,actions=drop')!;
    expect(off).toMatchObject({ priority: 100, match: 'ip,nw_dst=10.0.0.1', drop: true, packets: 7 });
    expect(bridgeFromCommand('ovs-appctl bridge/dump-flows --offload-stats br0')).toBe('br0');
    expect(bridgeFromFileName('/b/hv-01/ovs-appctl_bridge.dump-flows_OVSTunnel2046.txt')).toBe('OVSTunnel2046');
  });
});

describe('ovs-vsctl list in the default list format', () => {
  it('decodes OVSDB data syntax: sets, maps, quoted atoms with escapes, numbers, booleans', () => {
    expect(parseOvsdbDatum('[]')).toEqual([]);
    expect(parseOvsdbDatum('[OpenFlow10, OpenFlow13]')).toEqual(['OpenFlow10', 'OpenFlow13']);
    expect(parseOvsdbDatum('{gre_key="2048", is-ovs-tun-network="True", ovs-host-setup="4,\\"-1\\""}')).toEqual({ gre_key: '2048', 'is-ovs-tun-network': 'True', 'ovs-host-setup': '4,"-1"' });
    expect(parseOvsdbDatum('"could not add network device t2046-3-7 to ofproto (File exists)"')).toBe('could not add network device t2046-3-7 to ofproto (File exists)');
    expect(parseOvsdbDatum('-1')).toBe(-1);
    expect(parseOvsdbDatum('false')).toBe(false);
    expect(() => parseOvsdbDatum('{key="7"')).toThrow(/"," or "}" expected/);
  });

  it('recognises the listing by content and names the line of a broken one', async () => {
    const text = '_uuid               : a2ba6999-33c8-4b61-8d2b-13e169a9b679\nname                : t1\nofport              : 3\nmtu                 : []\ntype                : gre\n';
    expect(recognise(memoryInput('x', text))?.type).toBe('ovs-vsctl-list');
    expect(parseOvsdbListText(text)).toMatchObject({ table: 'Interface', rows: [{ name: 't1', ofport: 3, mtu: [] }] });
    expect(() => parseOvsdbListText(`${text}options             : {key="7"\n`)).toThrow(/line 6 \(options\)/);
    expect(() => parseOvsdbListText('name : t1\n')).toThrow(/every record starts with "_uuid : <uuid>"/);
  });
});
