/**
 * Observations: what collectors turn sources into. Each collector adds its own kinds to
 * `ObservationMap` by declaration merging, so analyzers get typed data per kind:
 *
 *   declare module '../../core/observation.js' {
 *     interface ObservationMap { 'nvp.exception': NvpExceptionEvent }
 *   }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ObservationMap {}

export type ObservationKind = keyof ObservationMap & string;

export interface Observation<K extends ObservationKind = ObservationKind> {
  kind: K;
  /** The host the observation belongs to (bundle top directory, header, or the input itself). */
  host?: string;
  /** When the observed thing happened or was sampled, ms since the epoch. */
  at?: number;
  /** Where it came from: a file path (with line), a command, a URL. Never holds a secret. */
  source: string;
  data: ObservationMap[K];
}

export type AnyObservation = { [K in ObservationKind]: Observation<K> }[ObservationKind];

/** Read access to observations, grouped by kind. Analyzers only see this. */
export interface ObservationReader {
  get<K extends ObservationKind>(kind: K): readonly Observation<K>[];
  kinds(): string[];
}

/** An in-memory store of observations by kind, with pruning for the live appliance. */
export class ObservationStore implements ObservationReader {
  private readonly byKind = new Map<string, Observation[]>();

  add(o: AnyObservation | Observation): void {
    let list = this.byKind.get(o.kind);
    if (!list) this.byKind.set(o.kind, (list = []));
    list.push(o as Observation);
  }

  get<K extends ObservationKind>(kind: K): readonly Observation<K>[] {
    return (this.byKind.get(kind) ?? []) as Observation<K>[];
  }

  kinds(): string[] {
    return [...this.byKind.keys()];
  }

  /** Replace every observation of one kind (snapshots such as the latest inventory). */
  replace<K extends ObservationKind>(kind: K, items: Observation<K>[]): void {
    this.byKind.set(kind, items as Observation[]);
  }

  /** Drop observations older than `before` (ms); observations without a time are kept. */
  prune(before: number, keepLatestPerKind = 0): number {
    let dropped = 0;
    for (const [kind, list] of this.byKind) {
      const kept = list.filter((o, i) => o.at === undefined || o.at >= before || i >= list.length - keepLatestPerKind);
      dropped += list.length - kept.length;
      this.byKind.set(kind, kept);
    }
    return dropped;
  }

  /**
   * Keep only the latest `keep` observations of `kind` per group (by time, then arrival): for
   * heavy snapshots (a bridge's whole flow table) that analyzers only compare pairwise.
   */
  keepLatest(kind: string, keep: number, groupBy: (o: Observation) => string): number {
    const list = this.byKind.get(kind);
    if (!list || list.length <= keep) return 0;
    const groups = new Map<string, { o: Observation; i: number }[]>();
    list.forEach((o, i) => {
      const g = groupBy(o);
      let arr = groups.get(g);
      if (!arr) groups.set(g, (arr = []));
      arr.push({ o, i });
    });
    const drop = new Set<number>();
    for (const arr of groups.values()) {
      if (arr.length <= keep) continue;
      arr.sort((a, b) => (a.o.at ?? 0) - (b.o.at ?? 0) || a.i - b.i);
      for (const x of arr.slice(0, arr.length - keep)) drop.add(x.i);
    }
    if (drop.size) this.byKind.set(kind, list.filter((_, i) => !drop.has(i)));
    return drop.size;
  }

  get size(): number {
    let n = 0;
    for (const list of this.byKind.values()) n += list.length;
    return n;
  }
}
