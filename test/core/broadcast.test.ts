/** Broadcast URIs are read the same by the leak analyzers and by apply's re-check before a delete. */
import { describe, expect, it } from 'vitest';
import { holdsBroadcast } from '../../core/broadcast.js';

describe('holdsBroadcast', () => {
  const U = '9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0101';
  it('an lswitch is held in any state and in either spelling', () => {
    for (const uri of [`lswitch:${U}`, `lswitch://${U.toUpperCase()}`, `lswitch:${U}/`]) expect(holdsBroadcast(uri, 'Shutdown', { lswitch: U }), uri).toBe(true);
    expect(holdsBroadcast('lswitch:00000000-0000-4000-8000-000000000000', 'Implemented', { lswitch: U })).toBe(false);
  });
  it('a tunnel key only while the network is live, with OvsTunnelManager\'s host.key form', () => {
    expect(holdsBroadcast('vswitch://2048', 'Implemented', { greKey: 2048 })).toBe(true);
    expect(holdsBroadcast('vswitch://vlan.2048', 'Setup', { greKey: 2048 })).toBe(true);
    expect(holdsBroadcast('vswitch://2048', 'Shutdown', { greKey: 2048 })).toBe(false);
    expect(holdsBroadcast('vswitch://20480', 'Implemented', { greKey: 2048 })).toBe(false);
    expect(holdsBroadcast('vxlan://4343', 'Implemented', { vni: 4343 })).toBe(true);
    expect(holdsBroadcast('vswitch://4343', 'Implemented', { vni: 4343 })).toBe(true);
  });
});
