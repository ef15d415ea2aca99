/**
 * CloudStack broadcast URIs, read one way everywhere: the analyzers that call a switch or bridge
 * leaked and the executor that re-checks before it deletes must agree on what "held" means.
 */

/** The lswitch uuid a broadcast URI names: `lswitch:<uuid>` (also tolerates `lswitch://<uuid>`). */
export function lswitchOfUri(uri: string | undefined): string | undefined {
  const m = /^lswitch:(?:\/\/)?([0-9a-fA-F-]{8,})\/?$/.exec(uri?.trim() ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/** The GRE key of `vswitch://<key>` (after a dot when the authority has one, as OvsTunnelManager parses it). */
export function greKeyOfUri(uri: string | undefined): number | undefined {
  const m = /^vswitch:\/\/([^/]+)/i.exec(uri?.trim() ?? '');
  if (!m) return undefined;
  const auth = m[1]!;
  const k = Number(auth.includes('.') ? auth.slice(auth.lastIndexOf('.') + 1) : auth);
  return Number.isInteger(k) && k >= 0 ? k : undefined;
}

/** The VNI of `vxlan://<vni>`. */
export function vniOfUri(uri: string | undefined): number | undefined {
  const m = /^vxlan:\/\/(\d+)\/?$/i.exec(uri?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Network states that no longer hold an OVS tunnel key (the bridge may go). */
export const GONE_STATES = new Set(['shutdown', 'destroy', 'allocated']);

/** What a plan step looks for in CloudStack's networks. */
export interface BroadcastRef {
  lswitch?: string;
  greKey?: number;
  vni?: number;
}

/**
 * Does a network with this URI and state hold `ref`? An lswitch is held in any state (the switch
 * must not be deleted while any network names it); a tunnel key only while the network is live.
 */
export function holdsBroadcast(uri: string | undefined, state: string | undefined, ref: BroadcastRef): boolean {
  if (ref.lswitch !== undefined) return lswitchOfUri(uri) === ref.lswitch.toLowerCase();
  if (GONE_STATES.has((state ?? '').toLowerCase())) return false;
  if (ref.greKey !== undefined && greKeyOfUri(uri) === ref.greKey) return true;
  return ref.vni !== undefined && (vniOfUri(uri) === ref.vni || greKeyOfUri(uri) === ref.vni);
}
