/**
 * Shard iterators: `<stream ARN>|1|<position>`, DynamoDB's visible shape (its API reference shows
 * iterators starting with the stream ARN). The position names the shard, where reading resumes
 * and when the iterator was handed out. Nothing in it is secret or trusted: every read is checked
 * against the caller's account and the table's key as a GetShardIterator would be, so a forged
 * iterator reaches nothing a GetShardIterator could not.
 */
import { validationError } from './errors.js';
import { parseSequence } from './shards.js';

export interface IteratorPosition {
  readonly streamArn: string;
  readonly shard: number;
  /** The first sequence number to return; `horizon` resumes at the trim horizon of the read (TRIM_HORIZON). */
  readonly from: string | 'horizon';
  /** epoch ms */
  readonly issuedAt: number;
}

const POSITION = /^(\d{1,9})\.(\d{21}|h)\.(\d{1,16})$/;

export function encodeIterator(position: IteratorPosition): string {
  const from = position.from === 'horizon' ? 'h' : position.from;
  const text = `${position.shard}.${from}.${position.issuedAt}`;
  return `${position.streamArn}|1|${Buffer.from(text, 'latin1').toString('base64url')}`;
}

/** ValidationException for anything that is not an iterator sealdb handed out. */
export function decodeIterator(iterator: string): IteratorPosition {
  const parts = iterator.split('|');
  const [streamArn, version, encoded] = parts;
  const match =
    parts.length === 3 && version === '1' && encoded
      ? POSITION.exec(Buffer.from(encoded, 'base64url').toString('latin1'))
      : null;
  if (!match || !streamArn) throw validationError('Invalid ShardIterator');
  const [, shard, from, issuedAt] = match as unknown as [string, string, string, string];
  if (from !== 'h' && !parseSequence(from)) throw validationError('Invalid ShardIterator');
  return { streamArn, shard: Number(shard), from: from === 'h' ? 'horizon' : from, issuedAt: Number(issuedAt) };
}
