/**
 * CloudStack inventory: zones, physical networks, networks, hosts, NVP devices (and their
 * networks) and configurations, read live through `orchestrator/cloudstack/client.ts`
 * (`cloudstack-api`) or from saved API answers in a bundle (`cloudstack-api-response`).
 * Every listing also reports whether it was complete (`orchestrator.listing`
 * {source: 'cloudstack'}), because analyzers that call things stale must know.
 */
import { describeError, NetdiagError } from '../../core/errors.js';
import type { InputFile } from '../../core/input.js';
import type { FileCollector, OnlineCollector, OrchestratorOptions, ParseContext, ReadStats } from '../../core/plugin.js';
import type { CloudStackClientOptions, CloudStackListing } from '../../orchestrator/cloudstack/client.js';
import { cloudstackClientFrom } from '../../orchestrator/clients.js';
import { CloudStackAuthError, CloudStackTransportError, CloudStackUnsupportedError } from '../../orchestrator/cloudstack/errors.js';
import { LISTINGS, mapItem, parseSavedCloudStackResponse, sniffCloudStackResponse, type ListingEnvelope, type MappedItem } from './parse.js';

export type { CloudStackPhysicalNetwork, CloudStackZone } from './parse.js';

async function readText(input: InputFile): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).subarray(input.header.length).toString('utf8');
}

export const cloudstackApiResponseCollector: FileCollector = {
  type: 'cloudstack-api-response',
  description: 'saved CloudStack API list answers ({"listnetworksresponse": {...}} and friends, or CloudMonkey\'s {"count": N, "network": [...]}: zones, physical networks, networks, hosts, NVP devices, configurations)',
  sniff: (input) => sniffCloudStackResponse(input.body),
  async read(input, ctx): Promise<ReadStats> {
    const text = await readText(input);
    const zoneid = /[?&\s]zoneid=([0-9a-fA-F-]{8,})/.exec(input.header.command ?? '')?.[1];
    let parsed;
    try {
      parsed = parseSavedCloudStackResponse(text, input.path, zoneid, input.header.command);
    } catch (e) {
      throw new NetdiagError('E_INPUT_PARSE', (e as Error).message, { remedy: 'save the raw JSON answer of a list command with response=json (e.g. cmk -o json list networks listall=true, or curl of the signed URL)' });
    }
    const at = input.collectedAt().getTime();
    const source = input.path;
    for (const it of parsed.items) ctx.emit({ kind: it.kind, at, source, data: it.data } as Parameters<ParseContext['emit']>[0]);
    ctx.emit({
      kind: 'orchestrator.listing',
      at,
      source,
      data: { source: 'cloudstack', what: parsed.what, complete: parsed.complete, count: parsed.items.length, ...(parsed.problem ? { error: parsed.problem } : {}) },
    });
    const warnings: string[] = [];
    if (parsed.problem) warnings.push(parsed.problem);
    if (parsed.skipped) warnings.push(`${parsed.skipped} item(s) without an id were skipped`);
    return { records: parsed.items.length, skipped: parsed.skipped || undefined, warnings };
  },
};

export interface CloudStackCollectOptions {
  /** Client options for tests (page size, retries, back-off). */
  client?: Partial<CloudStackClientOptions>;
}

/** The live CloudStack inventory; a factory so tests can tune the client. */
export function makeCloudStackApiCollector(extra: CloudStackCollectOptions = {}): OnlineCollector {
  return {
    type: 'cloudstack-api',
    description: 'CloudStack API: zones, physical networks, networks (listall, with broadcasturi), hosts, NVP devices and their networks, configurations',
    applies: (o: OrchestratorOptions) => Boolean(o.cloudstackUrl),
    async collect(o, ctx: ParseContext & { now(): number }) {
      const client = cloudstackClientFrom(o, ctx.log, extra.client)!;
      const source = client.source;
      const warnings: string[] = [];
      const failures: string[] = [];
      let firstError: unknown;
      let records = 0;
      const emitted = new Set<string>();
      let fatal: string | undefined;

      const emitItems = (envelope: ListingEnvelope, items: unknown[], zoneid?: string, dedupe = false): number => {
        let n = 0;
        for (const raw of items) {
          const m: MappedItem | undefined = mapItem(envelope, raw, zoneid);
          if (!m) continue;
          const key = `${m.kind}:${'id' in m.data ? m.data.id : 'nvpdeviceid' in m.data ? m.data.nvpdeviceid : `${m.data.name}@${m.data.zoneid ?? ''}`}`;
          if (dedupe && emitted.has(key)) continue;
          emitted.add(key);
          ctx.emit({ kind: m.kind, at: ctx.now(), source: `${source} ${LISTINGS[envelope].command}`, data: m.data } as Parameters<ParseContext['emit']>[0]);
          n++;
        }
        records += n;
        return n;
      };
      const status = (what: string, complete: boolean, count: number, error?: string) =>
        ctx.emit({ kind: 'orchestrator.listing', at: ctx.now(), source, data: { source: 'cloudstack', what, complete, count, ...(error ? { error } : {}) } });

      /** Run the listings of one `what`; it is complete only if every part is. Returns the raw items. */
      const listing = async (what: string, envelope: ListingEnvelope, parts: { params: Record<string, string | boolean>; zoneid?: string; optional?: boolean }[]): Promise<unknown[] | undefined> => {
        const spec = LISTINGS[envelope];
        const all: unknown[] = [];
        const problems: string[] = [];
        let count = 0;
        for (const part of parts) {
          if (fatal) {
            problems.push(`not tried: ${fatal}`);
            break;
          }
          let l: CloudStackListing<unknown>;
          try {
            l = await client.listPaged<unknown>(spec.command, spec.itemKey, part.params);
          } catch (e) {
            if (part.optional && e instanceof CloudStackUnsupportedError) {
              warnings.push(`${spec.command}: ${describeError(e)} — treated as none`);
              continue;
            }
            firstError ??= e;
            problems.push(describeError(e));
            // unreachable or refused credentials: every other listing would fail the same way
            if (e instanceof CloudStackTransportError || e instanceof CloudStackAuthError) fatal = describeError(e);
            break; // the listing is incomplete anyway; do not hammer a failing server
          }
          if (!l.complete) problems.push(`${spec.command}: ${l.problem}`);
          count += emitItems(envelope, l.items, part.zoneid, true);
          all.push(...l.items);
        }
        const error = problems.length ? problems.join('; ') : undefined;
        if (error) {
          failures.push(`${what}: ${error}`);
          firstError ??= new NetdiagError('E_API', `CloudStack ${spec.command} listing incomplete: ${error}`);
        }
        status(what, !error, count, error);
        return error ? undefined : all;
      };

      const zones = await listing('zones', 'listzonesresponse', [{ params: {} }]);
      const physnets = await listing('physicalnetworks', 'listphysicalnetworksresponse', [{ params: {} }]);
      // listall=true: every account's networks; projectid=-1: the projects' networks as well.
      await listing('networks', 'listnetworksresponse', [{ params: { listall: true } }, { params: { listall: true, projectid: '-1' } }]);
      await listing('hosts', 'listhostsresponse', [{ params: {} }]);
      // NVP devices: one listing per physical network (the command needs one). Without the
      // physical networks the device listing cannot be complete. A server without the NiciraNvp
      // plugin answers 432: it has no NVP devices.
      let devices: unknown[] | undefined;
      if (physnets === undefined) {
        status('nvpdevices', false, 0, 'the physical networks could not be listed');
        failures.push('nvpdevices: the physical networks could not be listed');
      } else {
        devices = await listing(
          'nvpdevices',
          'listniciranvpdevicesresponse',
          physnets.map((p) => ({ params: { physicalnetworkid: String((p as { id: string }).id) }, optional: true })),
        );
      }
      // Networks of each NVP device in any state (some, e.g. project networks, may have escaped listNetworks).
      if (devices && devices.length) {
        await listing(
          'nvpdevicenetworks',
          'listniciranvpdevicenetworksresponse',
          devices.map((d) => ({ params: { nvpdeviceid: String((d as { nvpdeviceid: string }).nvpdeviceid) } })),
        );
      }
      // Global settings, then the zone-scoped MTU maxima per zone.
      await listing('configurations', 'listconfigurationsresponse', [
        { params: {} },
        ...(zones ?? []).flatMap((z) =>
          ['vr.public.interface.max.mtu', 'vr.private.interface.max.mtu'].map((name) => ({ params: { zoneid: String((z as { id: string }).id), name }, zoneid: String((z as { id: string }).id) })),
        ),
      ]);

      if (firstError !== undefined && records === 0) throw firstError;
      if (firstError !== undefined) throw new NetdiagError('E_API', `CloudStack ${source} answered only in part: ${failures.join('; ')}`);
      return { source, records, warnings };
    },
  };
}

export const cloudstackApiCollector = makeCloudStackApiCollector();
