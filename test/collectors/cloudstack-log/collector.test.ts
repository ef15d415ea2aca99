import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { memoryInput } from '../../../core/input.js';
import type { AnyObservation } from '../../../core/observation.js';
import { cloudstackLogCollector, LOG_METRICS, ovstunnelLogCollector } from '../../../collectors/cloudstack-log/index.js';
import { classifyNvpMessage, parseLineHead, parseNdc, jobsFromNdc } from '../../../collectors/cloudstack-log/parse.js';
import { recordingSink } from '../../helpers/metrics.js';

const CASES = join(__dirname, '..', '..', 'fixtures', 'cloudstack-log', 'cases');
const fixture = (c: string, h: string, f: string) => readFileSync(join(CASES, c, 'input', h, f));

describe('cloudstack-log collector', () => {
  it('recognises every layout by content, and not other inputs', () => {
    const sniff = (text: string, path = 'x') => cloudstackLogCollector.sniff(memoryInput(path, text));
    expect(sniff(fixture('v40-not-found', 'mgmt-01', 'management-server.log').toString())).toBeGreaterThan(0.8);
    expect(sniff(fixture('log4j2-auth-pings', 'mgmt-01', 'management-server.log').toString())).toBeGreaterThan(0.8);
    expect(sniff(fixture('syslog-transport', 'mgmt-01', 'cloudstack-management.journal').toString())).toBeGreaterThan(0.8);
    expect(sniff(fixture('pasted-no-timestamps', 'mgmt-01', 'ticket-paste.txt').toString())).toBeGreaterThan(0.8);
    expect(sniff(fixture('agent-logs', 'hv-01', 'agent.log').toString())).toBeGreaterThan(0.8);
    expect(sniff('{"results": [], "result_count": 0}\n')).toBe(0);
    expect(sniff('NIC statistics:\n     rx_crc_errors: 3\n')).toBe(0);
    expect(sniff(fixture('ovstunnel', 'hv-01', 'ovstunnel.log').toString())).toBe(0);
    expect(ovstunnelLogCollector.sniff(memoryInput('x', fixture('ovstunnel', 'hv-01', 'ovstunnel.log')))).toBeGreaterThan(0.8);
    expect(ovstunnelLogCollector.sniff(memoryInput('x', fixture('log4j2-auth-pings', 'mgmt-01', 'management-server.log')))).toBe(0);
  });

  it('counts metrics through noteObservation with bounded labels', async () => {
    const { sink, counts } = recordingSink();
    const obs: AnyObservation[] = [];
    const stats = await cloudstackLogCollector.read(memoryInput('m.log', fixture('log4j1-conflict-burst', 'mgmt-01', 'management-server.log'), { host: 'mgmt-01' }), {
      emit: (o) => obs.push(o),
      metrics: sink,
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    expect(stats.records).toBe(123);
    expect(counts.get('netdiag_nvp_api_exceptions_total{"host":"mgmt-01","cause":"conflict","status_class":"4xx"}')).toBe(6);
    expect(counts.get('netdiag_nvp_command_failures_total{"host":"mgmt-01","command":"CreateLogicalSwitchCommand"}')).toBe(6);
    expect(counts.get('netdiag_nvp_command_retries_total{"host":"mgmt-01","command":"CreateLogicalSwitchCommand"}')).toBe(12);
    expect(counts.get('netdiag_log_records_total{"host":"mgmt-01","type":"cloudstack-log"}')).toBe(123);
    const declared = new Set(LOG_METRICS.map((m) => m.name));
    for (const k of counts.keys()) expect(declared.has(k.slice(0, k.indexOf('{')))).toBe(true);
    for (const m of LOG_METRICS) {
      expect(m.name).toMatch(/^netdiag_[a-z_]+$/);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
    }
  });

  it('reads a .gz copy like the plain file', async () => {
    const plain = fixture('log4j2-auth-pings', 'mgmt-01', 'management-server.log');
    const read = async (buf: Buffer) => {
      const obs: AnyObservation[] = [];
      const input = { ...memoryInput('m.log', plain), gzip: true, open: () => memoryInput('m', buf).open().pipe(createGunzip()) };
      const st = await cloudstackLogCollector.read(input, { emit: (o) => obs.push(o), metrics: recordingSink().sink, log: { debug() {}, info() {}, warn() {}, error() {} } });
      return { st, obs };
    };
    const a = await read(gzipSync(plain));
    expect(a.st.records).toBe(59);
    expect(a.obs.filter((o) => o.kind === 'nvp.exception')).toHaveLength(6);
  });
});

describe('parse', () => {
  it('accepts every NDC form: null, empty, [], space-separated, bracketed, parent/child jobs', () => {
    expect(parseNdc('null')).toEqual([]);
    expect(parseNdc('')).toEqual([]);
    expect(parseNdc('[]')).toEqual([]);
    expect(parseNdc('ctx-35226f21 job-61 ctx-a49f2c89')).toEqual(['ctx-35226f21', 'job-61', 'ctx-a49f2c89']);
    expect(parseNdc('[ctx-999fb26a, job-731, ctx-0a0f21b0]')).toEqual(['ctx-999fb26a', 'job-731', 'ctx-0a0f21b0']);
    expect(jobsFromNdc(parseNdc('ctx-3d84aa87 job-61/job-62'))).toEqual(['61', '62']);
  });

  it('parses the verbatim §1.4 lines with the right layout', () => {
    const cases: [string, string][] = [
      ['2021-03-13 02:40:02,888 DEBUG [o.a.c.f.j.i.AsyncJobManagerImpl] (Work-Job-Executor-17:ctx-3d84aa87 job-61/job-62) (logid:fc577e10) Publish async job-62 complete on message bus', 'log4j1-logid'],
      ['2023-09-23 15:55:04,549 INFO [c.c.a.ApiServer] (qtp1750498848-424:ctx-277f0072 ctx-3fd47725 ctx-17477c38) (logid:8d9ae664) Unable to execute API command queryasyncjobresult due to invalid value.', 'log4j1-logid'],
      ['INFO [c.c.v.VirtualMachineManagerImpl] (Work-Job-Executor-14:ctx-8cff03b7 job-389/job-391 ctx-1ee828af) (logid:ba1a0383) Insufficient capacity', 'pasted'],
      ['2025-10-27 07:10:55,195 ERROR [o.a.c.s.NsxApiClient] (DirectAgent-161:[ctx-385a40c3]) (logid:ea3ad574) Error creating segment D1-A2-Z1-S224: General error has occurred.', 'log4j2'],
      ['2025-02-19 10:33:21,882 INFO  [kvm.resource.LibvirtConnection] (main:[]) (logid:) No existing libvirtd connection found. Opening a new one', 'log4j2'],
      ['2013-05-14 10:20:06,000 ERROR [network.nicira.NiciraNvpApi] (DirectAgent-4:null) Failed to create object : Not Found', '4.0'],
      ['Sep 03 01:12:08 mgmt-01 java[2720]: INFO  [c.c.s.ManagementServerImpl] (Agent-Handler-1:) (logid:) Startup', 'syslog'],
      ['2019-11-28 14:11:41,709 - An unexpected error occured. Rolling back', 'ovstunnel'],
    ];
    for (const [l, layout] of cases) expect(parseLineHead(l, 2026)?.layout).toBe(layout);
    expect(parseLineHead('\tat com.cloud.network.nicira.NiciraNvpApi.create(NiciraNvpApi.java:197)')).toBeUndefined();
    expect(parseLineHead('Caused by: com.cloud.utils.rest.CloudstackRESTException: x')).toBeUndefined();
    expect(parseLineHead('Sep 03 01:12:08 mgmt-01 java[2720]: at org.apache.Foo.bar(Foo.java:1)', 2026)).toBeUndefined();
  });

  it('reads the time of every line exactly, across days, months and years and with 1-3 fraction digits', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const two = (n: number) => String(n).padStart(2, '0');
    for (let k = 0; k < 2000; k++) {
      const t = Date.UTC(2015 + rnd(15), rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000));
      const d = new Date(t);
      const digits = 1 + rnd(3);
      const frac = String(d.getUTCMilliseconds()).padStart(3, '0').slice(0, digits);
      const line = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())},${frac} DEBUG [c.c.a.t.Request] (AgentManager-Handler-1:null) (logid:) Seq 1-2: x`;
      expect(parseLineHead(line)?.at, line).toBe(t - (t % 1000) + Number(frac.padEnd(3, '0')));
    }
  });

  it('classifies every §2.2 message form', () => {
    const c = (m: string) => classifyNvpMessage(m);
    expect(c('Two consecutive failed attempts to authenticate against REST server')).toEqual({ cause: 'auth' });
    expect(c('Nicira NVP API login failed : Unauthorized')).toEqual({ cause: 'auth', status: 401 });
    expect(c('Unexpected status code: 403')).toEqual({ cause: 'auth', status: 403 });
    expect(c('Failed to create object : Not Found')).toEqual({ cause: 'not_found', status: 404 });
    expect(c('Unexpected status code: 404')).toEqual({ cause: 'not_found', status: 404 });
    expect(c('Conflict: Conflict')).toEqual({ cause: 'conflict', status: 409 });
    expect(c('Unexpecetd status code: 409')).toEqual({ cause: 'conflict', status: 409 });
    expect(c('Unexpected status code: 503')).toEqual({ cause: 'server_error', status: 503 });
    expect(c('Failed to retrieve object : Internal Server Error')).toEqual({ cause: 'server_error', status: 500 });
    expect(c('Could not execute request GET https://10.0.0.5:443/ws.v1/lswitch')).toEqual({ cause: 'transport' });
    expect(c('API call to Nicira NVP Controller Failed')).toEqual({ cause: 'transport' });
    expect(c('IOException caught while trying to connect to the Nicira NVP Controller')).toEqual({ cause: 'transport' });
    expect(c('Reached max executions limit of 5')).toEqual({ cause: 'retry_exhausted' });
    expect(c('Unexpected response from API')).toEqual({ cause: 'other' });
    expect(c('Expected 1 LogicalSwitchPort, but got 2')).toEqual({ cause: 'other' });
    // The rest of the texts the client code throws (checked against apache/cloudstack, old and new)
    expect(c('Connection to NVP Failed')).toEqual({ cause: 'transport' });
    expect(c('API call to REST Service Failed')).toEqual({ cause: 'transport' });
    expect(c('API call to Nicira REST Service Failed')).toEqual({ cause: 'transport' });
    expect(c('REST Service API login failed Unauthorized')).toEqual({ cause: 'auth', status: 401 });
    expect(c('Failed to authenticate against REST server')).toEqual({ cause: 'auth' });
    expect(c('Unable to build REST Service URI')).toEqual({ cause: 'other' });
  });

  it('takes the message of every client text from a logged exception', async () => {
    const texts = ['Connection to NVP Failed', 'API call to REST Service Failed', 'REST Service API login failed Forbidden', 'Failed to close response object for request.'];
    const log = texts
      .map((t, i) => `2026-11-21 10:00:0${i},000 ERROR [c.c.n.r.NiciraNvpResource] (DirectAgent-1:ctx-1) (logid:) CreateLogicalSwitchCommand failed\ncom.cloud.network.nicira.NiciraNvpApiException: com.cloud.utils.rest.CloudstackRESTException: ${t}\n`)
      .join('');
    const obs: AnyObservation[] = [];
    await cloudstackLogCollector.read(memoryInput('m.log', log), { emit: (o) => obs.push(o), metrics: recordingSink().sink, log: { debug() {}, info() {}, warn() {}, error() {} } });
    const exc = obs.filter((o) => o.kind === 'nvp.exception').map((o) => o.data as { cause: string; message: string });
    expect(exc.map((e) => e.cause)).toEqual(['transport', 'transport', 'auth', 'other']);
    expect(exc.map((e) => e.message)).toEqual(['Connection to NVP Failed', 'API call to REST Service Failed', 'REST Service API login failed Forbidden', 'Failed to close response object for request.']);
  });
});

describe('secrets', () => {
  it('never copies a signed query or URL credentials into observations', async () => {
    const log = [
      '2026-11-21 10:00:00,000 ERROR [c.c.n.r.NiciraNvpResource] (DirectAgent-1:ctx-1) (logid:) getControlClusterStatus failed',
      'com.cloud.network.nicira.NiciraNvpApiException: com.cloud.utils.rest.CloudstackRESTException: Could not execute request GET https://admin:s3cretpw@10.0.0.5:443/ws.v1/control-cluster/status?apikey=AKIAXYZ&signature=abc%2Fdef',
      '',
    ].join('\n');
    const obs: AnyObservation[] = [];
    await cloudstackLogCollector.read(memoryInput('m.log', log), { emit: (o) => obs.push(o), metrics: recordingSink().sink, log: { debug() {}, info() {}, warn() {}, error() {} } });
    expect(obs.some((o) => o.kind === 'nvp.exception')).toBe(true);
    const text = JSON.stringify(obs);
    expect(text).not.toMatch(/s3cretpw|AKIAXYZ|abc%2Fdef/);
  });
});
