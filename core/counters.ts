/**
 * Counters are read as counters: the one place where two samples of a monotonically increasing
 * counter become an increase and a rate, with resets (driver reload, a re-added flow, a restarted
 * process) and 32/64-bit wraps handled.
 */
export interface CounterSample {
  value: number | bigint;
  /** ms since the epoch */
  at: number;
}

export interface CounterDelta {
  /** The increase between the samples (never negative). */
  increase: number;
  /** Increase per second, undefined when the samples have no time between them. */
  ratePerSecond?: number;
  /** The counter went backwards and was treated as reset to zero in between. */
  reset: boolean;
  /** The counter wrapped at 2^bits. */
  wrapped: boolean;
}

const TWO32 = 2 ** 32;

/**
 * Increase of a counter between two samples.
 * - cur >= prev: the difference.
 * - cur < prev, and the counter is 32-bit (bits=32, or auto and prev is above 2^32 minus a margin
 *   and cur small): a wrap, the increase is cur + 2^bits - prev.
 * - otherwise a reset: the counter restarted from zero, so the increase is cur (what was counted
 *   since the reset is the best lower bound).
 */
export function counterDelta(prev: CounterSample, cur: CounterSample, bits: 32 | 64 | 'auto' = 'auto'): CounterDelta {
  const p = Number(prev.value);
  const c = Number(cur.value);
  const dt = (cur.at - prev.at) / 1000;
  let increase: number;
  let reset = false;
  let wrapped = false;
  if (c >= p) increase = c - p;
  else if ((bits === 32 || (bits === 'auto' && p < TWO32 && p > TWO32 * 0.75 && c < TWO32 * 0.25)) && p < TWO32) {
    increase = c + TWO32 - p;
    wrapped = true;
  } else if (bits === 64 && p > 2 ** 63) {
    // A 64-bit wrap: the precision of doubles is enough at these magnitudes for a rate.
    increase = c + (2 ** 64 - p);
    wrapped = true;
  } else {
    increase = c;
    reset = true;
  }
  return { increase, ratePerSecond: dt > 0 ? increase / dt : undefined, reset, wrapped };
}

/** Sum of increases over an ordered series of samples (handles resets in the middle). */
export function seriesIncrease(samples: readonly CounterSample[], bits: 32 | 64 | 'auto' = 'auto'): CounterDelta & { samples: number; seconds: number } {
  let increase = 0;
  let reset = false;
  let wrapped = false;
  for (let i = 1; i < samples.length; i++) {
    const d = counterDelta(samples[i - 1]!, samples[i]!, bits);
    increase += d.increase;
    reset ||= d.reset;
    wrapped ||= d.wrapped;
  }
  const seconds = samples.length > 1 ? (samples[samples.length - 1]!.at - samples[0]!.at) / 1000 : 0;
  return { increase, ratePerSecond: seconds > 0 ? increase / seconds : undefined, reset, wrapped, samples: samples.length, seconds };
}
