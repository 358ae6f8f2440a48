/**
 * Where CloudTrail puts things, reproduced under `<dataDir>/cloudtrail/`: the S3 key layout of log
 * and digest files, their names, and the hour arithmetic that decides which file a record joins.
 * The "bucket" is the `cloudtrail` folder itself; S3 object keys are paths relative to it.
 */
import { randomInt } from 'node:crypto';

export const HOUR_MS = 60 * 60 * 1000;
/** The bucket name written into digests: the trail folder stands in for CloudTrail's S3 bucket. */
export const TRAIL_BUCKET = 'sealdb-cloudtrail';
/** The one trail every account has; appears in digest file names as CloudTrail's trail name does. */
export const TRAIL_NAME = 'sealdb';
/** Sealed (encrypted at rest) files carry this suffix after their CloudTrail name. */
export const SEALED_SUFFIX = '.enc';
/** Folder (under the trail folder) of the hours still being appended to; not part of the CloudTrail tree. */
export const OPEN_FOLDER = 'open';
export const LOGS_FOLDER = 'AWSLogs';

const ACCOUNT = /^\d{12}$/;
export const isAccountId = (value: string): boolean => ACCOUNT.test(value);

export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** CloudTrail's `eventTime` and digest times: `YYYY-MM-DDTHH:MM:SSZ`. */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** `YYYYMMDDTHHmmZ` (log files) or `YYYYMMDDTHHmmssZ` (digest files). */
export function compactTime(ms: number, withSeconds: boolean): string {
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${withSeconds ? pad(d.getUTCSeconds()) : ''}`;
  return `${date}T${time}Z`;
}

function parseCompactTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'));
}

function datePath(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

const UNIQUE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** CloudTrail ends log file names with a 16-character random string. */
export function uniqueSuffix(): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += UNIQUE_ALPHABET[randomInt(UNIQUE_ALPHABET.length)];
  return out;
}

/** In ASCII order, so that fixed-width numbers in it sort as their values. */
const SORTABLE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHUNK_DIGITS = 6;

/**
 * An hour is delivered as several log files (as CloudTrail delivers a busy hour), each holding a
 * run of the hour's records. The unique suffix starts with the position of the file's first
 * record in the hour (6 sortable base-62 digits), then 10 random characters: positions, and so
 * LookupEvents' NextTokens, stay the same when the open hour becomes log files.
 */
export function chunkSuffix(firstPosition: number): string {
  let digits = '';
  let n = firstPosition;
  for (let i = 0; i < CHUNK_DIGITS; i++) {
    digits = (SORTABLE_ALPHABET[n % 62] as string) + digits;
    n = Math.floor(n / 62);
  }
  return digits + uniqueSuffix().slice(CHUNK_DIGITS);
}

/** The first position of a log file from its unique suffix (any suffix decodes, older random ones too). */
export function chunkStart(unique: string): number {
  let n = 0;
  for (const ch of unique.slice(0, CHUNK_DIGITS)) n = n * 62 + Math.max(0, SORTABLE_ALPHABET.indexOf(ch));
  return n;
}

export interface LogFileKey {
  readonly accountId: string;
  readonly region: string;
  /** Start of the hour the file holds. */
  readonly hour: number;
  readonly unique: string;
}

export interface DigestFileKey {
  readonly accountId: string;
  readonly region: string;
  /** `digestEndTime` of the digest. */
  readonly end: number;
}

/** `AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz` */
export function logObjectKey(key: LogFileKey): string {
  const name = `${key.accountId}_CloudTrail_${key.region}_${compactTime(key.hour, false)}_${key.unique}.json.gz`;
  return `${LOGS_FOLDER}/${key.accountId}/CloudTrail/${key.region}/${datePath(key.hour)}/${name}`;
}

/** `AWSLogs/<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/<acct>_CloudTrail-Digest_<region>_<trail>_<region>_<end>.json.gz` */
export function digestObjectKey(key: DigestFileKey): string {
  const name = `${key.accountId}_CloudTrail-Digest_${key.region}_${TRAIL_NAME}_${key.region}_${compactTime(key.end, true)}.json.gz`;
  return `${LOGS_FOLDER}/${key.accountId}/CloudTrail-Digest/${key.region}/${datePath(key.end)}/${name}`;
}

const LOG_KEY =
  /^AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/\d{4}\/\d{2}\/\d{2}\/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json\.gz$/;
const DIGEST_KEY =
  /^AWSLogs\/(\d{12})\/CloudTrail-Digest\/([a-z0-9-]+)\/\d{4}\/\d{2}\/\d{2}\/(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_[^_]+_[a-z0-9-]+_(\d{8}T\d{6}Z)\.json\.gz$/;

/** Parses an object key back; undefined for anything that is not a well-formed, self-consistent log file key. */
export function parseLogObjectKey(objectKey: string): LogFileKey | undefined {
  const m = LOG_KEY.exec(objectKey);
  if (!m || m[1] !== m[3] || m[2] !== m[4]) return undefined;
  const hour = parseCompactTime(m[5] as string);
  if (hour === undefined) return undefined;
  const key = { accountId: m[1] as string, region: m[2] as string, hour, unique: m[6] as string };
  return logObjectKey(key) === objectKey ? key : undefined;
}

export function parseDigestObjectKey(objectKey: string): DigestFileKey | undefined {
  const m = DIGEST_KEY.exec(objectKey);
  if (!m || m[1] !== m[3] || m[2] !== m[4]) return undefined;
  const end = parseCompactTime(m[5] as string);
  if (end === undefined) return undefined;
  const key = { accountId: m[1] as string, region: m[2] as string, end };
  return digestObjectKey(key) === objectKey ? key : undefined;
}

/** The file (relative to the trail folder) an account's open hour is appended to. */
export function openHourPath(accountId: string, region: string, hour: number): string {
  return `${OPEN_FOLDER}/${accountId}/${region}/${accountId}_${region}_${compactTime(hour, false)}.frames`;
}

export function parseOpenHourPath(path: string): { accountId: string; region: string; hour: number } | undefined {
  const m = /^open\/(\d{12})\/([a-z0-9-]+)\/(\d{12})_([a-z0-9-]+)_(\d{8}T\d{4}Z)\.frames$/.exec(path);
  if (!m || m[1] !== m[3] || m[2] !== m[4]) return undefined;
  const hour = parseCompactTime(m[5] as string);
  return hour === undefined ? undefined : { accountId: m[1] as string, region: m[2] as string, hour };
}
