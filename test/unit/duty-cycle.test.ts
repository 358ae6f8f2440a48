/** The duty cycle of background work, on an injected clock and sleep (no real time passes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DutyCycle, RequestActivity } from '../../src/core/duty-cycle.js';

function harness(busy: () => boolean, options: { workMs?: number; busyShare?: number; idleShare?: number } = {}) {
  let now = 0;
  const slept: number[] = [];
  const cycle = new DutyCycle({
    ...options,
    busy,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  });
  return {
    cycle,
    slept,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('DutyCycle', () => {
  it('a slice expires after workMs on its clock', () => {
    const { cycle, advance } = harness(() => false, { workMs: 4 });
    cycle.start();
    advance(3);
    assert.equal(cycle.expired(), false);
    advance(1);
    assert.equal(cycle.expired(), true);
    cycle.stop();
    assert.equal(cycle.expired(), false, 'no slice, nothing expires');
  });

  it('rests only a yield while no requests are served', async () => {
    const { cycle, advance, slept } = harness(() => false);
    cycle.start();
    advance(5);
    cycle.stop();
    await cycle.rest();
    assert.deepEqual(slept, [0]);
  });

  it('keeps to its busy share while requests are served: work 5 ms, rest 20 ms at 0.2', async () => {
    const { cycle, advance, slept, now } = harness(() => true, { busyShare: 0.2 });
    for (let i = 0; i < 10; i++) {
      cycle.start();
      advance(5);
      cycle.stop();
      await cycle.rest();
    }
    assert.deepEqual(slept, Array(10).fill(20));
    assert.equal(now(), 250);
  });

  it('counts requests that arrived during the slice, and only the time between start and stop', async () => {
    let busy = false;
    const { cycle, advance, slept } = harness(() => busy, { busyShare: 0.5 });
    cycle.start();
    advance(2);
    busy = true;
    cycle.stop();
    busy = false;
    advance(100); // awaits between slices are not work
    cycle.start();
    advance(2);
    cycle.stop();
    await cycle.rest();
    assert.deepEqual(slept, [4]);
  });

  it('refuses a share outside (0, 1]', () => {
    assert.throws(() => new DutyCycle({ busyShare: 0 }), RangeError);
    assert.throws(() => new DutyCycle({ idleShare: 1.5 }), RangeError);
  });
});

describe('RequestActivity', () => {
  it('is busy with a request in flight and for a window after the last one', () => {
    let now = 0;
    const activity = new RequestActivity(50, () => now);
    assert.equal(activity.busy(), false);
    activity.begin();
    now = 1000;
    assert.equal(activity.busy(), true, 'in flight');
    activity.end();
    now = 1049;
    assert.equal(activity.busy(), true, 'within the window');
    now = 1050;
    assert.equal(activity.busy(), false);
  });
});
