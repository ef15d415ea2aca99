import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { findingId, makeFinding } from '../../core/finding.js';
import { forEachLine, parseHeader } from '../../core/input.js';
import { redact } from '../../core/errors.js';

describe('finding ids', () => {
  it('are stable whatever the key order of the subject', () => {
    expect(findingId('flow_drop', { bridge: 'br-int', table: 0 }, 'hv1')).toBe(findingId('flow_drop', { table: 0, bridge: 'br-int' }, 'hv1'));
  });
  it('differ by host, kind and episode', () => {
    const a = findingId('flow_drop', { bridge: 'br-int' }, 'hv1');
    expect(findingId('flow_drop', { bridge: 'br-int' }, 'hv2')).not.toBe(a);
    expect(findingId('flow_invalid_output', { bridge: 'br-int' }, 'hv1')).not.toBe(a);
    expect(makeFinding({ kind: 'flow_drop', severity: 'info', subject: { bridge: 'br-int' }, host: 'hv1', summary: '', metrics: {}, evidence: [], episode: 'x' }).id).not.toBe(a);
  });
});

describe('bundle file header', () => {
  it('reads command and collected-at and where the content starts', () => {
    const text = '# command: ovs-ofctl dump-flows br-int\n# collected-at: 2026-11-20T10:00:00Z\nNXST_FLOW reply (xid=0x4):\n';
    const h = parseHeader(text);
    expect(h.command).toBe('ovs-ofctl dump-flows br-int');
    expect(h.collectedAt?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(text.slice(h.length)).toBe('NXST_FLOW reply (xid=0x4):\n');
  });
  it('is empty when the file has none', () => {
    expect(parseHeader('2026-11-20 10:00:00,123 INFO  [c.c.a.ApiServer] x').length).toBe(0);
  });
});

describe('line splitting', () => {
  it('handles lines split across chunks, CRLF, a missing final newline and over-long lines', async () => {
    const chunks = [Buffer.from('one\r\ntw'), Buffer.from('o\nthr'), Buffer.from('ee' + 'x'.repeat(50) + '\nlast')];
    const got: [string, boolean][] = [];
    await forEachLine(Readable.from(chunks), (l, _n, t) => got.push([l, t]), 20);
    expect(got.map((g) => g[0])).toEqual(['one', 'two', 'threexxxxxxxxxxxxxxx', 'last']);
    expect(got[2]![1]).toBe(true);
  });
});

describe('redaction', () => {
  it('removes keys, signatures and passwords from text', () => {
    const s = redact('GET /client/api?command=listZones&apikey=AAAA&signature=abc%3D https://admin:pw@nvp/ws.v1 --nvp-password hunter2');
    expect(s).not.toMatch(/AAAA|abc%3D|hunter2|admin:pw/);
  });
});

describe('ObservationStore.keepLatest', () => {
  it('keeps the latest N per group by time and drops the rest', async () => {
    const { ObservationStore } = await import('../../core/observation.js');
    const s = new ObservationStore();
    for (let t = 1; t <= 5; t++)
      for (const bridge of ['br-int', 'OVSTunnel2046'])
        s.add({ kind: 'ovs.flows', host: 'hv-01', at: t * 1000, source: 'x', data: { bridge, flows: [] } } as never);
    expect(s.keepLatest('ovs.flows', 2, (o) => `${o.host}/${(o.data as { bridge: string }).bridge}`)).toBe(6);
    const left = s.get('ovs.flows' as never) as { at: number; data: { bridge: string } }[];
    expect(left.map((o) => `${o.data.bridge}@${o.at}`).sort()).toEqual(['OVSTunnel2046@4000', 'OVSTunnel2046@5000', 'br-int@4000', 'br-int@5000']);
  });
});
