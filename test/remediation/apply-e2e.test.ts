/**
 * `netdiag plan` and `netdiag apply` end to end, as an admin runs them: the real binary against
 * both simulators. The leaked switches get plans; a dry run calls nothing that changes; a plan
 * whose switch CloudStack uses again, or that is still inside the grace period, is refused with
 * nothing changed; `--yes` deletes exactly that switch; applying it again changes nothing; an MTU
 * change runs as a CloudStack async job and is skipped once in place; a failing job is reported;
 * a missing orchestrator or a bad plans file stops before anything is called. No secret is printed.
 * Needs `dist/` (npx tsc -p tsconfig.json).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFinding } from '../../core/finding.js';
import type { Plan, PlanSet } from '../../core/plan.js';
import { makePlanSet } from '../../engine/plans.js';
import { startCloudStackSimulator } from '../../lab/cloudstack/server.js';
import { expectedLeaks, LEAKED_LSWITCH_OLD, LEAKED_LSWITCH_TRUNCATED_TAG } from '../../lab/inventory.js';
import { startNvpSimulator, type NvpSimulator } from '../../lab/nvp/server.js';

const exec = promisify(execFile);
const NETDIAG = join(__dirname, '..', '..', 'bin', 'netdiag.js');
const BUNDLE = join(__dirname, '..', 'fixtures', 'orchestrator', 'bundle');

let cs: Awaited<ReturnType<typeof startCloudStackSimulator>>;
let nvp: NvpSimulator;
let dir: string;
let outputs = '';
beforeAll(async () => {
  cs = await startCloudStackSimulator({ host: '127.0.0.1', port: 0, jobDurationMs: 200 });
  nvp = await startNvpSimulator({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'nd-apply-'));
});
afterAll(async () => {
  await Promise.allSettled([cs?.close(), nvp?.close()]);
  rmSync(dir, { recursive: true, force: true });
  // whatever was printed, no secret was
  for (const secret of [nvp.password, cs.secretKey, cs.apiKey]) expect(outputs).not.toContain(secret);
});

const csArgs = () => ['--cloudstack-url', cs.url, '--api-key', cs.apiKey, '--secret-key', cs.secretKey];
const nvpArgs = () => ['--nvp-url', nvp.url, '--nvp-user', nvp.user, '--nvp-password', nvp.password];

async function netdiag(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let r: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await exec('node', [NETDIAG, ...args], { maxBuffer: 64 << 20, timeout: 60_000 });
    r = { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    r = { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
  outputs += r.stdout + r.stderr;
  return r;
}

const writePlans = (name: string, set: PlanSet) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(set));
  return p;
};
const deletes = () => nvp.requests.filter((r) => r.method === 'DELETE');

describe('netdiag plan + apply against the simulators', () => {
  let plansFile: string;
  let set: PlanSet;
  const switchPlan = (uuid: string): Plan => set.plans.find((p) => p.kind === 'stale_logical_switch' && p.steps.some((s) => s.params.uuid === uuid))!;

  it('plan: one plan per leak, JSON in the contract shape, and the report points each finding at its plan', async () => {
    plansFile = join(dir, 'plans.json');
    const r = await netdiag(['plan', '--bundle', BUNDLE, ...csArgs(), ...nvpArgs(), '--format', 'json', '--out', plansFile]);
    expect(r.code).toBe(0);
    set = JSON.parse(readFileSync(plansFile, 'utf8')) as PlanSet;
    expect(set.schema).toBe('netdiag.plans/v1');
    const lsw = set.plans.filter((p) => p.kind === 'stale_logical_switch');
    expect(lsw.map((p) => p.steps.find((s) => s.action === 'deleteLogicalSwitch')!.params.uuid).sort()).toEqual([...expectedLeaks.lswitches].sort());
    for (const p of set.plans) {
      expect(p).toEqual(expect.objectContaining({ id: expect.any(String), findingIds: expect.any(Array), summary: expect.any(String) }));
      for (const s of p.steps) expect(s).toEqual(expect.objectContaining({ id: expect.any(String), target: expect.stringMatching(/^(cloudstack|nvp|manual)$/), action: expect.any(String), params: expect.any(Object), readOnly: expect.any(Boolean), destructive: expect.any(Boolean), idempotent: expect.any(Boolean) }));
    }
    const bridges = set.plans.filter((p) => p.kind === 'stale_ovs_bridge').flatMap((p) => p.steps.filter((s) => s.command).map((s) => `${s.host}: ${s.command!.join(' ')}`));
    expect(bridges.sort()).toEqual(['hv-01: ovs-vsctl --if-exists del-br OVSTunnel2048', 'hv-01: ovs-vsctl --if-exists del-port OVSTunnel2046 t2046-3-5', 'hv-02: ovs-vsctl --if-exists del-br OVSTunnel2048']);

    const text = await netdiag(['plan', '--bundle', BUNDLE, ...csArgs(), ...nvpArgs()]);
    expect(text.stdout).toContain(`netdiag apply PLANS.json --plan ${switchPlan(LEAKED_LSWITCH_OLD).id}`);
    expect(text.stdout).toMatch(/DESTRUCTIVE DELETE \/ws\.v1\/lswitch\//);
    const rep = await netdiag(['diagnose', '--bundle', BUNDLE, ...csArgs(), ...nvpArgs(), '--format', 'json']);
    const f = (JSON.parse(rep.stdout) as { findings: { subject: { lswitch?: string }; plan?: { id: string } }[] }).findings.find((x) => x.subject.lswitch === LEAKED_LSWITCH_OLD)!;
    expect(f.plan?.id).toBe(switchPlan(LEAKED_LSWITCH_OLD).id);
  });

  it('apply without --yes: the preconditions are checked live, the DELETE is only printed', async () => {
    const before = deletes().length;
    const r = await netdiag(['apply', plansFile, '--plan', switchPlan(LEAKED_LSWITCH_OLD).id, ...csArgs(), ...nvpArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dry run/);
    expect(r.stdout).toContain(`DELETE ${nvp.url}/ws.v1/lswitch/${LEAKED_LSWITCH_OLD}`);
    expect(deletes().length).toBe(before);
    expect(nvp.lswitchUuids()).toContain(LEAKED_LSWITCH_OLD);
  });

  it.each([`lswitch:${LEAKED_LSWITCH_OLD}`, `lswitch://${LEAKED_LSWITCH_OLD.toUpperCase()}`])('refuses, changing nothing, when a CloudStack network references the switch again (%s)', async (uri) => {
    cs.inventory.networks.push({ id: 'b6a1c2d3-0009-4e5f-8a9b-000000000999', name: 'revived', state: 'Implementing', broadcastdomaintype: 'Lswitch', broadcasturi: uri, zoneid: 'z', physicalnetworkid: 'p' });
    try {
      const r = await netdiag(['apply', plansFile, '--plan', switchPlan(LEAKED_LSWITCH_OLD).id, '--yes', ...csArgs(), ...nvpArgs(), '--format', 'json']);
      expect(r.code).toBe(1);
      const res = JSON.parse(r.stdout) as { status: string; steps: { status: string; detail: string }[] };
      expect(res.status).toBe('refused');
      expect(res.steps[0]!.detail).toMatch(/revived .* holds lswitch:/);
      expect(res.steps[2]!.status).toBe('not-run');
      expect(nvp.lswitchUuids()).toContain(LEAKED_LSWITCH_OLD);
    } finally {
      cs.inventory.networks.pop();
    }
  });

  it('--yes deletes exactly that switch; applying the finished plan again calls no DELETE', async () => {
    const before = deletes().length;
    const id = switchPlan(LEAKED_LSWITCH_OLD).id;
    const r = await netdiag(['apply', plansFile, '--plan', id, '--yes', ...csArgs(), ...nvpArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/applied/);
    expect(deletes().map((d) => d.path).slice(before)).toEqual([`/ws.v1/lswitch/${LEAKED_LSWITCH_OLD}`]);
    expect(nvp.lswitchUuids()).not.toContain(LEAKED_LSWITCH_OLD);
    expect(nvp.lswitchUuids()).toContain(LEAKED_LSWITCH_TRUNCATED_TAG);

    // again, and again with a fresh journal: the switch is gone, nothing is called
    const again = await netdiag(['apply', plansFile, '--plan', id, '--yes', ...csArgs(), ...nvpArgs()]);
    const fresh = await netdiag(['apply', plansFile, '--plan', id, '--yes', ...csArgs(), ...nvpArgs(), '--state', join(dir, 'other-journal.json')]);
    expect([again.code, fresh.code]).toEqual([0, 0]);
    expect(fresh.stdout).toMatch(/already gone/);
    expect(deletes().length).toBe(before + 1);
  });

  it('refuses a switch still inside the grace period (CloudStack may not have stored its URI yet)', async () => {
    const young = 'aaaaaaaa-1111-4222-8333-444444444444';
    nvp.addLswitch({ uuid: young, display_name: 'just-made', tags: [{ scope: 'cs_account', tag: 'ROOT-admin' }], created: new Date().toISOString(), ports: [] });
    const finding = makeFinding({ kind: 'stale_logical_switch', severity: 'warning', subject: { lswitch: young, displayName: 'just-made', account: 'ROOT-admin' }, summary: 's', metrics: { graceSeconds: 2400 }, evidence: [] });
    const file = writePlans('young.json', makePlanSet([finding], Date.now()));
    const plan = (JSON.parse(readFileSync(file, 'utf8')) as PlanSet).plans[0]!;
    const r = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs(), ...nvpArgs()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/inside the 2400 s grace period.*apply again after/);
    expect(nvp.lswitchUuids()).toContain(young);
  });

  it('an MTU plan runs updateNetwork as an async job, and is skipped once the MTU is in place', async () => {
    const finding = makeFinding({ kind: 'mtu_fragmentation', severity: 'critical', subject: { tunnel: { type: 'gre', key: 2046, src: '10.0.0.1', dst: '10.0.0.2' } }, summary: 's', metrics: { recommendedMtu: 1450, requiredUnderlayMtu: 1542 }, evidence: [] });
    const file = writePlans('mtu.json', makePlanSet([finding], Date.now()));
    const plan = (JSON.parse(readFileSync(file, 'utf8')) as PlanSet).plans[0]!;
    const dry = await netdiag(['apply', file, '--plan', plan.id, ...csArgs()]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/command=updateNetwork&id=b6a1c2d3-0002-4e5f-8a9b-000000000201&privatemtu=1450/);
    const updates = () => cs.requests.filter((q) => q.command === 'updateNetwork').length;
    expect(updates()).toBe(0);
    // CloudStack's default: the MTU is silently ignored, and netdiag says so instead of "done"
    const ignored = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs(), '--state', join(dir, 'mtu-ignored.json')]);
    expect(ignored.code).toBe(2);
    expect(ignored.stdout).toMatch(/kept privatemtu 1500, not 1450.*allow\.end\.users\.to\.specify\.vr\.mtu/);
    cs.inventory.configurations.find((c) => c.name === 'allow.end.users.to.specify.vr.mtu')!.value = 'true';
    const r = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/updateNetwork finished: privatemtu 1450/);
    expect(cs.inventory.networks.find((n) => n.broadcasturi === 'vswitch://2046')!.privatemtu).toBe(1450);
    expect(cs.requests.some((q) => q.command === 'queryAsyncJobResult')).toBe(true);
    const again = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs(), '--state', join(dir, 'mtu-fresh.json')]);
    expect(again.stdout).toMatch(/already has privatemtu 1450/);
    expect(updates()).toBe(2);
  });

  it('a failing CloudStack job is reported as failed part-way (exit 2) with the job\'s error', async () => {
    const finding = makeFinding({ kind: 'mtu_fragmentation', severity: 'critical', subject: { tunnel: { type: 'gre', key: 2046, src: '10.0.0.1', dst: '10.0.0.2' } }, summary: 's', metrics: { recommendedMtu: 1400 }, evidence: [] });
    const file = writePlans('mtu-fail.json', makePlanSet([finding], Date.now()));
    const plan = (JSON.parse(readFileSync(file, 'utf8')) as PlanSet).plans[0]!;
    cs.failJobs({ command: 'updateNetwork', errorcode: 530, errortext: 'Failed to update network' });
    const r = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs()]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/FAILED part-way/);
    expect(r.stdout).toMatch(/Failed to update network/);
  });

  it('a CRC plan moves the VMs off the host through prepareHostForMaintenance, once', async () => {
    const finding = makeFinding({ kind: 'nic_crc_errors', severity: 'critical', host: 'hv-02', subject: { interface: 'eno1' }, summary: 's', metrics: { crcErrors: 900 }, evidence: [] });
    const file = writePlans('crc.json', makePlanSet([finding], Date.now()));
    const plan = (JSON.parse(readFileSync(file, 'utf8')) as PlanSet).plans[0]!;
    const r = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs(), '--format', 'json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { steps: { action: string; status: string; detail: string; call?: string }[] };
    expect(res.steps.map((x) => `${x.action}:${x.status}`)).toEqual(['findHost:checked', 'prepareHostForMaintenance:done', 'instruction:manual', 'instruction:manual', 'instruction:manual']);
    expect(res.steps[1]!.call).toContain('command=prepareHostForMaintenance&id=c0ffee00-0000-4000-8000-000000000004');
    expect(res.steps[4]!.detail).toContain('cancelHostMaintenance for host c0ffee00-0000-4000-8000-000000000004');
    expect(cs.inventory.hosts.find((h) => h.name === 'hv-02')!.resourcestate).toMatch(/Maintenance/);
    const again = await netdiag(['apply', file, '--plan', plan.id, '--yes', ...csArgs(), '--state', join(dir, 'crc-fresh.json')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already .*Maintenance/);
    expect(cs.requests.filter((q) => q.command === 'prepareHostForMaintenance')).toHaveLength(1);
  });

  it('stops before calling anything without the orchestrator a step needs, or with a bad plans file', async () => {
    const before = nvp.requests.length + cs.requests.length;
    const noNvp = await netdiag(['apply', plansFile, '--plan', switchPlan(LEAKED_LSWITCH_TRUNCATED_TAG).id, '--yes', ...csArgs()]);
    expect(noNvp.code).toBe(3);
    expect(noNvp.stderr).toMatch(/needs the NVP API.*--nvp-url/s);
    const unknown = await netdiag(['apply', plansFile, '--plan', 'plan-nope', ...csArgs(), ...nvpArgs()]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/has no plan plan-nope; it has plan-/);
    // a lock left by another (or a crashed) apply: named, nothing called
    const lock = `${plansFile}.applied.json.lock`;
    writeFileSync(lock, '4242\n');
    const locked = await netdiag(['apply', plansFile, '--plan', switchPlan(LEAKED_LSWITCH_TRUNCATED_TAG).id, '--yes', ...csArgs(), ...nvpArgs()]);
    rmSync(lock);
    expect(locked.code).toBe(3);
    expect(locked.stderr).toMatch(/another netdiag apply is using .*pid 4242/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'netdiag.report/v1', findings: [] }));
    const badRun = await netdiag(['apply', bad, '--plan', 'x', ...csArgs()]);
    expect(badRun.code).toBe(3);
    expect(badRun.stderr).toContain(`${bad} is not a netdiag.plans/v1 file`);
    expect(nvp.requests.length + cs.requests.length).toBe(before);
  });
});
