import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { packRecord, unpackRecord } from '../../src/streams/image-delta.js';

/** A record of both images, as the deriver lays it out: head (with the NewImage), OldImage, tail. */
function record(newImage: string, oldImage: string) {
  const start = Buffer.from('{"eventID":"e","dynamodb":{"Keys":{},"NewImage":');
  const head = Buffer.concat([start, Buffer.from(newImage), Buffer.from(',"OldImage":')]);
  const tail = Buffer.from(',"SequenceNumber":"1"}}');
  const whole = Buffer.concat([head, Buffer.from(oldImage), tail]);
  return { whole, packed: packRecord(head, start.length, Buffer.byteLength(newImage), Buffer.from(oldImage), tail) };
}

describe('stream records with both images', () => {
  it('keep of the OldImage only what differs from the NewImage, and read back whole', () => {
    const payload = randomBytes(600).toString('base64');
    const { whole, packed } = record(
      `{"pk":{"S":"a"},"n":{"N":"1235"},"p":{"S":"${payload}"}}`,
      `{"pk":{"S":"a"},"n":{"N":"1234"},"p":{"S":"${payload}"}}`,
    );
    assert.ok(packed.length < whole.length - 700, `${packed.length} stored of ${whole.length}`);
    assert.deepEqual(unpackRecord(packed), whole);
  });

  it('read back whole whatever the images share: nothing, everything, one inside the other', () => {
    for (const [newer, older] of [
      ['{"a":{"S":"xyz"}}', '{"b":{"N":"1"},"c":{"S":"q"}}'],
      ['{"a":{"S":"same"}}', '{"a":{"S":"same"}}'],
      ['{"a":{"S":"aaaa"}}', '{"a":{"S":"aa"}}'],
      ['{"a":{"S":"aa"}}', '{"a":{"S":"aaaa"}}'],
      ['{}', '{"a":{"S":"€"}}'],
    ] as const) {
      const { whole, packed } = record(newer, older);
      assert.equal(unpackRecord(packed).toString('utf8'), whole.toString('utf8'));
    }
  });

  it('stored whole (every other record) are read as they are', () => {
    const whole = Buffer.from('{"eventID":"e","eventName":"INSERT"}');
    assert.equal(unpackRecord(whole), whole);
  });
});
