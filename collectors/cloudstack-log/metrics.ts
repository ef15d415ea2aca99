/**
 * Metrics of the CloudStack log collector. The batch collector and the live follower both call
 * `noteObservation` for every observation they emit, so `/metrics` counts the same events the
 * analyzers see. Labels stay bounded: host, cause (7 values), status class, command (a closed
 * set of agent command class names), event.
 */
import type { AnyObservation } from '../../core/observation.js';
import type { MetricSpec, MetricsSink } from '../../core/plugin.js';
import './parse.js';

export const LOG_METRICS: MetricSpec[] = [
  {
    name: 'netdiag_nvp_api_exceptions_total',
    help: 'NVP API exceptions (NiciraNvpApiException and the NVP REST client errors) seen in CloudStack logs, by cause (auth, not_found, conflict, server_error, transport, retry_exhausted, other) and HTTP status class',
    type: 'counter',
    labelNames: ['host', 'cause', 'status_class'],
  },
  {
    name: 'netdiag_nvp_command_failures_total',
    help: 'NVP agent command failures logged by the management server (e.g. CreateLogicalSwitchCommand failed)',
    type: 'counter',
    labelNames: ['host', 'command'],
  },
  {
    name: 'netdiag_nvp_command_retries_total',
    help: 'NVP agent command retries (CommandRetryUtility "Retrying X")',
    type: 'counter',
    labelNames: ['host', 'command'],
  },
  {
    name: 'netdiag_nvp_controller_unhealthy_total',
    help: 'Management-server pings that found the NVP control cluster unstable or unreachable',
    type: 'counter',
    labelNames: ['host', 'state'],
  },
  {
    name: 'netdiag_ovstunnel_failures_total',
    help: 'ovstunnel.py failures on a KVM host (rollback, command error, missing bridge, OVS not running)',
    type: 'counter',
    labelNames: ['host', 'event'],
  },
  {
    name: 'netdiag_log_records_total',
    help: 'Log records read from CloudStack logs',
    type: 'counter',
    labelNames: ['host', 'type'],
  },
  {
    name: 'netdiag_log_skipped_bytes_total',
    help: 'Bytes of CloudStack logs skipped as garbage, binary or over-long lines',
    type: 'counter',
    labelNames: ['host', 'type'],
  },
];

/** Bounded command label: agent command class names only, anything else is `other`. */
function commandLabel(c: string | undefined): string {
  return c !== undefined && /^[A-Z][A-Za-z]{2,60}$/.test(c) ? c : 'other';
}

export function statusClass(status: number | undefined): string {
  return status === undefined ? 'none' : `${Math.floor(status / 100)}xx`;
}

export function noteObservation(o: AnyObservation, m: MetricsSink): void {
  const host = o.host ?? '';
  switch (o.kind) {
    case 'nvp.exception':
      m.inc('netdiag_nvp_api_exceptions_total', { host, cause: o.data.cause, status_class: statusClass(o.data.status) });
      break;
    case 'nvp.command_failure':
      m.inc('netdiag_nvp_command_failures_total', { host, command: commandLabel(o.data.command) });
      break;
    case 'nvp.retry':
      m.inc('netdiag_nvp_command_retries_total', { host, command: commandLabel(o.data.command) });
      break;
    case 'nvp.controller':
      m.inc('netdiag_nvp_controller_unhealthy_total', { host, state: o.data.state });
      break;
    case 'ovstunnel.event':
      m.inc('netdiag_ovstunnel_failures_total', { host, event: o.data.event });
      break;
    default:
      break;
  }
}
