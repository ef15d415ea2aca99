/**
 * CRC plans: frames are corrupted on the wire (cable, optic, switch port). netdiag cannot swap an
 * optic; it can move the VMs off the host through CloudStack first, when the link carries them.
 */
import { numberSteps, type Plan, planId } from '../../core/plan.js';
import { findHost, manual } from './steps.js';
import type { Planner } from './types.js';

export const crcPlanner: Planner = {
  kinds: ['nic_crc_errors'],
  plan(findings): Plan[] {
    return findings.flatMap((f) => {
      const iface = typeof f.subject.interface === 'string' ? f.subject.interface : undefined;
      if (!iface || f.severity === 'info') return []; // an old total or too few errors: nothing to do
      const bond = typeof f.subject.bond === 'string' ? f.subject.bond : undefined;
      const where = f.host ?? 'the host';
      const check = manual(`after the repair, confirm the counter stays flat on ${where} (run twice, a minute apart)`, { host: f.host, command: ['ethtool', '-S', iface] });
      const repair = manual(`reseat or replace the cable and optic of ${iface} on ${where}, and check the switch port's own error counters`, { host: f.host });
      const steps = bond || !f.host
        ? [
            ...(bond ? [manual(`take ${iface} out of ${bond} so traffic uses the healthy member(s)`, { host: f.host, command: ['ip', 'link', 'set', 'dev', iface, 'nomaster'] })] : []),
            repair,
            check,
            ...(bond ? [manual(`put ${iface} back into ${bond}`, { host: f.host, command: ['ip', 'link', 'set', 'dev', iface, 'master', bond] })] : []),
          ]
        : [
            findHost(f.host),
            {
              target: 'cloudstack' as const,
              action: 'prepareHostForMaintenance',
              params: { id: '${host.id}' },
              readOnly: false,
              destructive: false,
              idempotent: true,
              description: `prepareHostForMaintenance (async job): CloudStack live-migrates the VMs off ${where} before the link is touched (skipped when the host is already in maintenance)`,
            },
            repair,
            check,
            manual(`bring ${where} back: cancelHostMaintenance for host \${host.id} (CloudStack UI or API)`, {}),
          ];
      return [
        {
          id: planId(f.kind, `${f.host ?? ''}\u0000${iface}`),
          kind: f.kind,
          findingIds: [f.id],
          severity: f.severity,
          ...(f.host ? { host: f.host } : {}),
          summary: `repair the link of ${iface} on ${where}: it corrupts frames`,
          steps: numberSteps(steps),
        },
      ];
    });
  },
};
