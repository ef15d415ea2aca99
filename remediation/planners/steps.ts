/** Step builders shared by the planners, so every plan says the same thing the same way. */
import type { PlanStep } from '../../core/plan.js';

type Step = Omit<PlanStep, 'id'>;

export const manual = (description: string, o: { host?: string; command?: string[] } = {}): Step => ({
  target: 'manual',
  action: 'instruction',
  params: {},
  readOnly: false,
  destructive: false,
  idempotent: true,
  description,
  ...(o.host ? { host: o.host } : {}),
  ...(o.command ? { command: o.command } : {}),
});

/** CloudStack: find the one network holding one of these broadcast URIs (binds `network`). */
export const findNetwork = (broadcastUris: string[]): Step => ({
  target: 'cloudstack',
  action: 'findNetwork',
  params: { broadcastUris },
  readOnly: true,
  destructive: false,
  idempotent: true,
  description: `list CloudStack's networks (all accounts, every page) and find the one whose broadcasturi is ${broadcastUris.join(' or ')}`,
});

/** CloudStack: no network may hold this broadcast URI (the listing must be complete). */
export const confirmNetworkAbsent = (broadcastUri: string): Step => ({
  target: 'cloudstack',
  action: 'confirmNetworkAbsent',
  params: { broadcastUri },
  readOnly: true,
  destructive: false,
  idempotent: true,
  description: `list CloudStack's networks again (all accounts, every page) and stop unless the listing is complete and none has broadcasturi ${broadcastUri}`,
});

/** CloudStack: the host of this name (binds `host`). */
export const findHost = (name: string): Step => ({
  target: 'cloudstack',
  action: 'findHost',
  params: { name },
  readOnly: true,
  destructive: false,
  idempotent: true,
  description: `find CloudStack's hypervisor host named ${name}`,
});

/** NVP: read the control cluster status (changes nothing). */
export const nvpClusterStatus = (why: string): Step => ({
  target: 'nvp',
  action: 'controlClusterStatus',
  params: {},
  readOnly: true,
  destructive: false,
  idempotent: true,
  description: `read the NVP control cluster status${why}`,
});

/** CloudStack: restart the network an earlier step found (async job; journaled, since it cannot check itself). */
export const restartNetwork = (what: string): Step => ({
  target: 'cloudstack',
  action: 'restartNetwork',
  params: { id: '${network.id}', cleanup: false },
  readOnly: false,
  destructive: false,
  idempotent: false,
  description: `restartNetwork cleanup=false (async job): CloudStack implements the network again and ${what}; its router restarts, a short interruption for the network`,
});
