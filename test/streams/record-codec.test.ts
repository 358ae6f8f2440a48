import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { packRecord } from '../../src/streams/image-delta.js';
import {
  commonPrefix,
  commonSuffix,
  type EventName,
  encodeRecord,
  type RecordContext,
  recordJson,
} from '../../src/streams/record-codec.js';

const context: RecordContext = {
  region: 'eu-west-1',
  viewType: 'NEW_AND_OLD_IMAGES',
  sequence: '000000000001700000000000001',
  ms: 1_700_000_123_456,
};

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The record as GetRecords sent it when records were stored whole (format 0). */
function expected(
  eventID: string,
  eventName: EventName,
  sizeBytes: number,
  keys: unknown,
  images: { NewImage?: unknown; OldImage?: unknown },
  service = false,
  ctx: RecordContext = context,
) {
  return {
    eventID,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: ctx.region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(ctx.ms / 1000),
      Keys: keys,
      ...images,
      SequenceNumber: ctx.sequence,
      SizeBytes: sizeBytes,
      StreamViewType: ctx.viewType,
    },
    ...(service ? { userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' } } : {}),
  };
}

const eventIdOf = (record: Buffer): string => (JSON.parse(record.toString('utf8')) as { eventID: string }).eventID;

describe('stream record storage (format 2)', () => {
  const keys = { pk: { S: 'a' } };
  const payload = randomBytes(600).toString('base64');
  const newItem = { pk: { S: 'a' }, n: { N: '1235' }, p: { S: payload }, u: { S: 'ünïcødé €' } };
  const oldItem = { pk: { S: 'a' }, n: { N: '1234' }, p: { S: payload }, u: { S: 'ünïcødé €' } };

  it('reads back every event and image combination as GetRecords sends it', () => {
    const cases: { eventName: EventName; newImage?: unknown; oldImage?: unknown; service?: boolean }[] = [
      { eventName: 'INSERT' },
      { eventName: 'INSERT', newImage: newItem },
      { eventName: 'MODIFY', newImage: newItem, oldImage: oldItem },
      { eventName: 'MODIFY', oldImage: oldItem },
      { eventName: 'MODIFY', newImage: { pk: { S: 'a' } }, oldImage: { pk: { S: 'a' }, x: { S: 'y' } } },
      { eventName: 'REMOVE', oldImage: oldItem },
      { eventName: 'REMOVE', oldImage: oldItem, service: true },
      { eventName: 'REMOVE', service: true },
    ];
    for (const c of cases) {
      const stored = encodeRecord({
        eventName: c.eventName,
        service: c.service ?? false,
        sizeBytes: 1234,
        keys: json(keys),
        ...(c.newImage ? { newImage: json(c.newImage) } : {}),
        ...(c.oldImage ? { oldImage: json(c.oldImage) } : {}),
      });
      const record = recordJson(stored, context);
      const images = {
        ...(c.newImage ? { NewImage: c.newImage } : {}),
        ...(c.oldImage ? { OldImage: c.oldImage } : {}),
      };
      assert.deepEqual(
        JSON.parse(record.toString('utf8')),
        expected(eventIdOf(record), c.eventName, 1234, keys, images, c.service),
      );
      assert.match(eventIdOf(record), /^[0-9a-f]{32}$/);
    }
  });

  it('keeps of the OldImage only what differs from the NewImage, and not the envelope', () => {
    const newImage = json(newItem);
    const stored = encodeRecord({
      eventName: 'MODIFY',
      service: false,
      sizeBytes: 1,
      keys: json(keys),
      newImage,
      oldImage: json(oldItem),
    });
    assert.ok(stored.length < newImage.length + 80, `${stored.length} stored for a ${newImage.length}-byte image`);
  });

  it('gives every record its own event ID', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const stored = encodeRecord({ eventName: 'INSERT', service: false, sizeBytes: 1, keys: json(keys) });
      ids.add(eventIdOf(recordJson(stored, context)));
    }
    assert.equal(ids.size, 600);
  });

  it('reads records stored before format 2 as they were stored', () => {
    // Format 0: the record whole, as GetRecords sends it.
    const whole = json(expected('e0', 'INSERT', 5, keys, { NewImage: newItem }));
    assert.deepEqual(recordJson(whole, { ...context, region: 'elsewhere-1' }), whole);
    // Format 1: the OldImage as a delta of the NewImage (image-delta.ts).
    const start = Buffer.from(`{"eventID":"e1","dynamodb":{"Keys":${JSON.stringify(keys)},"NewImage":`);
    const head = Buffer.concat([start, json(newItem), Buffer.from(',"OldImage":')]);
    const tail = Buffer.from(',"SequenceNumber":"1"}}');
    const packed = packRecord(head, start.length, json(newItem).length, json(oldItem), tail);
    assert.deepEqual(JSON.parse(recordJson(packed, context).toString('utf8')), {
      eventID: 'e1',
      dynamodb: { Keys: keys, NewImage: newItem, OldImage: oldItem, SequenceNumber: '1' },
    });
  });

  it('finds the bytes two images share at either end, however they overlap', () => {
    const naivePrefix = (a: Buffer, b: Buffer) => {
      let n = 0;
      while (n < a.length && n < b.length && a[n] === b[n]) n++;
      return n;
    };
    const naiveSuffix = (a: Buffer, b: Buffer, prefix: number) => {
      let n = 0;
      const limit = Math.min(a.length, b.length) - prefix;
      while (n < limit && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
      return n;
    };
    for (const [a, b] of [
      ['abcdef', 'abcxef'],
      ['aaaa', 'aa'],
      ['aa', 'aaaa'],
      ['', 'abc'],
      ['same', 'same'],
      ['xyz', 'abc'],
      ['abab', 'ab'],
    ] as const) {
      const x = Buffer.from(a);
      const y = Buffer.from(b);
      const prefix = commonPrefix(x, y);
      assert.equal(prefix, naivePrefix(x, y), `prefix of ${a} and ${b}`);
      assert.equal(commonSuffix(x, y, prefix), naiveSuffix(x, y, prefix), `suffix of ${a} and ${b}`);
    }
    for (let i = 0; i < 200; i++) {
      const x = Buffer.from(randomBytes(1 + (i % 40)).map((v) => v % 3));
      const y = Buffer.concat([
        x.subarray(0, i % 7),
        Buffer.from(randomBytes(i % 5).map((v) => v % 3)),
        x.subarray(i % 11),
      ]);
      const prefix = commonPrefix(x, y);
      assert.equal(prefix, naivePrefix(x, y));
      assert.equal(commonSuffix(x, y, prefix), naiveSuffix(x, y, prefix));
    }
  });
});
