import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpFlowsFile, ofctlShowFile, vsctlJsonFile, vsctlShowFile } from '../../../collectors/ovs/index.js';
import { latestFlows } from '../../../collectors/ovs/model.js';
import { bridgeFromCommand, bridgeFromFileName, parseActions, parseDumpFlows, parseFlowLine } from '../../../collectors/ovs/parse.js';
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
