/**
 * NVP controller inventory: logical switches (with their ports and VIF attachments) and the
 * control-cluster status, read live through `orchestrator/nvp/client.ts` (`nvp-api`) or from
 * saved responses in a bundle (`nvp-api-response`). Every listing also reports whether it was
 * complete (`orchestrator.listing`), because analyzers that call things stale must know.
 */
import { describeError, NetdiagError } from '../../core/errors.js';
import type { InputFile } from '../../core/input.js';
import type { FileCollector, OnlineCollector, OrchestratorOptions, ParseContext, ReadStats } from '../../core/plugin.js';
import type { NvpLswitchInfo } from '../../core/kinds.js';
import type { NvpClient } from '../../orchestrator/nvp/client.js';
import { nvpClientFrom } from '../../orchestrator/clients.js';
import { clusterFromApi, lswitchFromApi, parseSavedNvpResponse, portFromApi, sniffNvpResponse } from './parse.js';

/** CloudStack's tag scope on everything it creates in NVP (§2.7). */
export const CS_TAG_SCOPE = 'cs_account';

async function readText(input: InputFile): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).subarray(input.header.length).toString('utf8');
}

export const nvpApiResponseCollector: FileCollector = {
  type: 'nvp-api-response',
  description: 'saved NVP /ws.v1 answers: lswitch?fields=* lists ({"results": [...], "result_count": N}) and control-cluster/status',
  sniff: (input) => sniffNvpResponse(input.body, input.header.command),
  async read(input, ctx): Promise<ReadStats> {
    const text = await readText(input);
    let parsed;
    try {
      parsed = parseSavedNvpResponse(text, input.path, input.header.command);
    } catch (e) {
      throw new NetdiagError('E_INPUT_PARSE', (e as Error).message, { remedy: 'save the raw JSON body of GET /ws.v1/lswitch?fields=* or /ws.v1/control-cluster/status' });
    }
    const at = input.collectedAt().getTime();
    const source = input.path;
    if (parsed.type === 'cluster') {
      ctx.emit({ kind: 'nvp.cluster', at, source, data: parsed.status });
      return { records: 1 };
    }
    if (parsed.type === 'lport-list') {
      return { records: 0, warnings: [`${input.path}: saved lport lists are not read yet (the switch listing carries what stale detection needs)`] };
    }
    const warnings: string[] = [];
    const countOk = parsed.resultCount === undefined || parsed.resultCount === parsed.items;
    if (!countOk) warnings.push(`result_count ${parsed.resultCount} but ${parsed.items} results: the saved listing is partial`);
    if (parsed.pageCursor) warnings.push('a page_cursor is left: the saved listing is only the first page(s)');
    if (parsed.skipped) warnings.push(`${parsed.skipped} result(s) without a uuid were skipped`);
    for (const s of parsed.switches) ctx.emit({ kind: 'nvp.lswitch', at, source, data: s });
    ctx.emit({
      kind: 'orchestrator.listing',
      at,
      source,
      data: { source: 'nvp', what: 'lswitch', complete: countOk && parsed.resultCount !== undefined && !parsed.pageCursor, count: parsed.switches.length, ...(countOk && !parsed.pageCursor ? {} : { error: warnings.join('; ') }) },
    });
    return { records: parsed.switches.length, skipped: parsed.skipped || undefined, warnings };
  },
};

/** Run `fn` over `items` with at most `n` at a time. */
async function mapLimit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export interface NvpCollectOptions {
  /** Client options for tests (page length, retries). */
  client?: Partial<ConstructorParameters<typeof NvpClient>[0]>;
  /** Parallel lport listings (default 4). */
  concurrency?: number;
}

/** The live NVP inventory; exported as a factory so tests can tune the client. */
export function makeNvpApiCollector(extra: NvpCollectOptions = {}): OnlineCollector {
  return {
    type: 'nvp-api',
    description: 'NVP controller API: logical switches with ports and VIF attachments, control-cluster status',
    applies: (o: OrchestratorOptions) => Boolean(o.nvpUrl),
    async collect(o, ctx: ParseContext & { now(): number }) {
      const client = nvpClientFrom(o, ctx.log, extra.client)!;
      const source = client.source;
      const warnings: string[] = [];
      let records = 0;
      let firstError: unknown;

      try {
        const st = await client.controlClusterStatus();
        ctx.emit({ kind: 'nvp.cluster', at: ctx.now(), source: `${source}/control-cluster/status`, data: clusterFromApi(st, source)! });
        ctx.emit({ kind: 'orchestrator.listing', at: ctx.now(), source, data: { source: 'nvp', what: 'control-cluster', complete: true, count: 1 } });
        records++;
      } catch (e) {
        firstError ??= e;
        ctx.emit({ kind: 'orchestrator.listing', at: ctx.now(), source, data: { source: 'nvp', what: 'control-cluster', complete: false, error: describeError(e), count: 0 } });
        warnings.push(`control-cluster status: ${describeError(e)}`);
      }

      let switches: NvpLswitchInfo[] = [];
      try {
        const list = await client.listLogicalSwitches();
        for (const raw of list.items) {
          const s = lswitchFromApi(raw, source);
          if (s) switches.push(s);
        }
        if (!list.consistent) warnings.push(`lswitch: result_count ${list.resultCount} but ${list.items.length} items across ${list.pages} page(s): switches changed while paging`);
        ctx.emit({
          kind: 'orchestrator.listing',
          at: ctx.now(),
          source,
          data: { source: 'nvp', what: 'lswitch', complete: list.consistent, count: switches.length, ...(list.consistent ? {} : { error: 'result_count does not match the items read' }) },
        });
      } catch (e) {
        firstError ??= e;
        switches = [];
        warnings.push(`lswitch listing: ${describeError(e)}`);
        ctx.emit({ kind: 'orchestrator.listing', at: ctx.now(), source, data: { source: 'nvp', what: 'lswitch', complete: false, error: describeError(e), count: 0 } });
      }

      // Ports only for CloudStack's switches: they are the evidence of a leak (which NICs were on it).
      let portFailures = 0;
      await mapLimit(
        switches.filter((s) => s.tags.some((t) => t.scope === CS_TAG_SCOPE)),
        extra.concurrency ?? 4,
        async (s) => {
          try {
            const ports = await client.listLogicalSwitchPorts(s.uuid);
            s.ports = ports.items.map(portFromApi).filter((p): p is NonNullable<typeof p> => p !== undefined);
          } catch (e) {
            portFailures++;
            if (portFailures <= 5) warnings.push(`lport of ${s.uuid}: ${describeError(e)}`);
          }
        },
      );
      if (portFailures > 5) warnings.push(`… lport listing failed for ${portFailures} switches in all`);
      for (const s of switches) ctx.emit({ kind: 'nvp.lswitch', at: ctx.now(), source, data: s });
      records += switches.length;

      if (firstError !== undefined && records === 0) throw firstError;
      if (firstError !== undefined) {
        // Part of the inventory is missing: the report's inputs must show it.
        throw new NetdiagError('E_API', `NVP ${source} answered only in part: ${warnings.join('; ')}`);
      }
      return { source, records, warnings };
    },
  };
}

export const nvpApiCollector = makeNvpApiCollector();
