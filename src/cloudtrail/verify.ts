/**
 * Offline verification of a trail, as CloudTrail log file validation does it: every digest in
 * the range must be signed by the installation's key and chained to the one before (same name,
 * SHA-256 and signature); every log file a digest lists must exist and hash as listed; and every
 * log file must be listed by a digest. Each problem names the file it is about.
 */
import type { KeyObject } from 'node:crypto';
import { asDigestDocument, type DigestDocument, sha256Hex, verifyDigestSignature } from './digest.js';
import { SIGNATURE_HEADER } from './digest-writer.js';
import { listFiles } from './durable-fs.js';
import { describeDamage, type FrameScanResult } from './frames.js';
import { HOUR_MS, isoSeconds, OPEN_FOLDER, parseOpenHourPath, SEALED_SUFFIX } from './layout.js';
import { SealError, type Unsealed } from './sealed-file.js';
import { publicKeyFingerprint } from './signing-key.js';
import {
  type DigestFileRef,
  gunzip,
  type LogFileRef,
  type TrailFiles,
  TrailFormatError,
  type TrailListing,
} from './trail-files.js';

export type ProblemKind =
  /** A file a digest lists (or a digest the chain names) is not there. */
  | 'missing'
  /** A file's content is not what was written: it fails authentication or its hash differs. */
  | 'modified'
  /** A file no digest lists, or a file sealdb never writes. */
  | 'inserted'
  /** A digest whose signature does not verify under the public key, or made with another key. */
  | 'signature'
  /** A digest that does not name the previous digest, its hash or its signature. */
  | 'chain';

export interface VerifyProblem {
  readonly kind: ProblemKind;
  /** Path relative to the trail folder (`<dataDir>/cloudtrail`). */
  readonly file: string;
  readonly detail: string;
}

export interface AccountSummary {
  readonly accountId: string;
  readonly region: string;
  readonly digests: number;
  readonly logFiles: number;
  /** Start of the first and end of the last digest checked, ISO. */
  readonly from?: string;
  readonly to?: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  readonly accounts: readonly AccountSummary[];
}

/** What verification reads: a trail folder, sealed (data directory) or plain (an export). */
export interface VerifiableTrail {
  list(): Promise<TrailListing>;
  /** Gzipped content and metadata (the digest signature) of a closed file, by object key. */
  readClosed(objectKey: string): Promise<Unsealed>;
  /** The on-disk path of an object key, relative to the trail folder. */
  fileOf(objectKey: string): string;
  /** Trail folder root, to look for open hour files and their set-aside copies. */
  readonly root: string;
  /** Reads an open hour file (or a set-aside copy of `keyPath`); absent for an export, which has none. */
  scanOpenFile?(file: string, keyPath: string): Promise<FrameScanResult>;
}

export interface VerifyOptions {
  readonly publicKey: KeyObject;
  /** Epoch ms; digests ending after it (and log files of hours from it) are checked. */
  readonly from?: number;
  /** Epoch ms; digests starting before it (and log files of hours before it) are checked. */
  readonly to?: number;
  readonly accountId?: string;
}

interface Link {
  readonly objectKey: string;
  readonly hash: string;
  readonly signature: string;
  readonly end: string;
}

class Verifier {
  readonly problems: VerifyProblem[] = [];
  readonly #fingerprint: string;

  constructor(
    private readonly trail: VerifiableTrail,
    private readonly options: VerifyOptions,
    private readonly listing: TrailListing,
  ) {
    this.#fingerprint = publicKeyFingerprint(options.publicKey);
  }

  problem(kind: ProblemKind, objectKey: string, detail: string): void {
    this.problems.push({ kind, file: this.trail.fileOf(objectKey), detail });
  }

  /** Reads a closed file; reports and returns undefined when it cannot be trusted. */
  async read(objectKey: string, what: string): Promise<{ bytes: Buffer; header: Unsealed['header'] } | undefined> {
    try {
      const { header, content } = await this.trail.readClosed(objectKey);
      return { bytes: gunzip(content), header };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.problem('missing', objectKey, `${what} is missing`);
      } else if (error instanceof SealError || error instanceof TrailFormatError) {
        this.problem('modified', objectKey, `${what} cannot be read: ${error.message}`);
      } else throw error;
      return undefined;
    }
  }

  /** The link a digest leaves for its successor, without judging it (used for the range's predecessor). */
  async link(ref: DigestFileRef): Promise<Link | undefined> {
    const read = await this.read(ref.objectKey, 'the digest before the range');
    const signature = read?.header[SIGNATURE_HEADER];
    if (!read || signature === undefined) return undefined;
    const doc = asDigestDocument(JSON.parse(read.bytes.toString('utf8')));
    return doc
      ? { objectKey: ref.objectKey, hash: sha256Hex(read.bytes), signature, end: doc.digestEndTime }
      : undefined;
  }

  /** Checks one digest (signature, self-description, chain link) and returns the link it leaves. */
  async digest(
    ref: DigestFileRef,
    accountId: string,
    previous: Link | undefined,
  ): Promise<{ link?: Link; doc?: DigestDocument }> {
    const read = await this.read(ref.objectKey, 'digest file');
    if (!read) return {};
    let doc: DigestDocument | undefined;
    try {
      doc = asDigestDocument(JSON.parse(read.bytes.toString('utf8')));
    } catch {
      doc = undefined;
    }
    if (!doc) {
      this.problem('modified', ref.objectKey, 'digest file is not a CloudTrail digest document');
      return {};
    }
    const hash = sha256Hex(read.bytes);
    const signature = read.header[SIGNATURE_HEADER];
    if (doc.digestS3Object !== ref.objectKey || doc.awsAccountId !== accountId) {
      this.problem(
        'modified',
        ref.objectKey,
        `digest describes another file (${doc.digestS3Object}, account ${doc.awsAccountId})`,
      );
    }
    if (doc.digestPublicKeyFingerprint !== this.#fingerprint) {
      this.problem(
        'signature',
        ref.objectKey,
        `digest was signed with key ${doc.digestPublicKeyFingerprint}, not the public key ${this.#fingerprint}: re-signed`,
      );
    } else if (signature === undefined || !verifyDigestSignature(this.options.publicKey, doc, hash, signature)) {
      this.problem('signature', ref.objectKey, 'digest signature does not verify: the digest was altered or re-signed');
    }
    if (previous) this.chainLink(ref, doc, previous);
    else if (
      doc.previousDigestS3Object !== null &&
      !this.listing.digests.some((d) => d.objectKey === doc.previousDigestS3Object)
    ) {
      this.problem('missing', doc.previousDigestS3Object, `digest named as previous by ${ref.objectKey} is missing`);
    }
    // Even an untrusted digest is linked as it is, so its successor's chain check names the break too.
    return signature !== undefined
      ? { link: { objectKey: ref.objectKey, hash, signature, end: doc.digestEndTime }, doc }
      : { doc };
  }

  chainLink(ref: DigestFileRef, doc: DigestDocument, previous: Link): void {
    if (doc.previousDigestS3Object !== previous.objectKey) {
      const named = doc.previousDigestS3Object;
      if (named !== null && !this.listing.digests.some((d) => d.objectKey === named)) {
        this.problem('missing', named, `digest named as previous by ${ref.objectKey} is missing`);
      } else {
        this.problem(
          'chain',
          ref.objectKey,
          `digest names ${named ?? 'no'} previous digest, expected ${previous.objectKey}`,
        );
      }
      return;
    }
    if (doc.previousDigestHashValue !== previous.hash) {
      this.problem(
        'chain',
        ref.objectKey,
        `previous digest hash differs: ${previous.objectKey} was replaced or altered`,
      );
    } else if (doc.previousDigestSignature !== previous.signature) {
      this.problem('chain', ref.objectKey, `previous digest signature differs: ${previous.objectKey} was re-signed`);
    }
    if (doc.digestStartTime !== previous.end) {
      this.problem(
        'chain',
        ref.objectKey,
        `digest starts at ${doc.digestStartTime} but the previous one ends at ${previous.end}`,
      );
    }
  }

  async logFiles(doc: DigestDocument, present: ReadonlySet<string>, listed: Set<string>): Promise<number> {
    let checked = 0;
    for (const entry of doc.logFiles) {
      listed.add(entry.s3Object);
      checked++;
      if (!present.has(entry.s3Object)) {
        this.problem('missing', entry.s3Object, `log file listed in ${doc.digestS3Object} is missing`);
        continue;
      }
      const read = await this.read(entry.s3Object, 'log file');
      if (read && sha256Hex(read.bytes) !== entry.hashValue) {
        this.problem('modified', entry.s3Object, `log file content differs from the SHA-256 in ${doc.digestS3Object}`);
      }
    }
    return checked;
  }
}

const overlaps = (start: number, end: number, options: Pick<VerifyOptions, 'from' | 'to'>): boolean =>
  (options.from === undefined || end > options.from) && (options.to === undefined || start < options.to);

function unlistedDetail(hour: number, unreadable: ReadonlySet<number>, newestEnd: number | undefined): string {
  if (unreadable.has(hour)) return 'log file cannot be vouched for: the digest of its hour is damaged';
  if (newestEnd !== undefined && hour < newestEnd) return 'log file is not listed in the digest of its hour';
  // Also what a crash between closing an hour and writing its digest leaves, until the server restarts.
  return `log file is not listed in any digest (the newest digest ends at ${newestEnd === undefined ? 'none' : isoSeconds(newestEnd)})`;
}

const groupKey = (k: { accountId: string; region: string }): string => `${k.accountId}/${k.region}`;

export async function verifyTrail(trail: VerifiableTrail, options: VerifyOptions): Promise<VerifyResult> {
  const listing = await trail.list();
  const verifier = new Verifier(trail, options, listing);
  for (const stranger of listing.strangers) {
    verifier.problems.push({ kind: 'inserted', file: stranger, detail: 'not a file sealdb writes into the trail' });
  }
  verifier.problems.push(...(await openFileProblems(trail, options)));
  const groups = new Map<string, { accountId: string; region: string; digests: DigestFileRef[]; logs: LogFileRef[] }>();
  const group = (k: { accountId: string; region: string }) => {
    const id = groupKey(k);
    const found = groups.get(id) ?? { accountId: k.accountId, region: k.region, digests: [], logs: [] };
    groups.set(id, found);
    return found;
  };
  for (const d of listing.digests) group(d.key).digests.push(d);
  for (const l of listing.logs) group(l.key).logs.push(l);

  const accounts: AccountSummary[] = [];
  const present = new Set(listing.logs.map((l) => l.objectKey));
  for (const g of [...groups.values()].sort((a, b) => groupKey(a).localeCompare(groupKey(b)))) {
    if (options.accountId !== undefined && g.accountId !== options.accountId) continue;
    const all = g.digests.sort((a, b) => a.key.end - b.key.end);
    const selected = all.filter((d) => overlaps(d.key.end - HOUR_MS, d.key.end, options));
    const firstIndex = selected[0] ? all.indexOf(selected[0]) : -1;
    const before = firstIndex > 0 ? all[firstIndex - 1] : undefined;
    let previous = before ? await verifier.link(before) : undefined;
    const listed = new Set<string>();
    /** Starts of hours whose digest could not be read: their log files cannot be vouched for. */
    const unreadable = new Set<number>();
    let logFiles = 0;
    for (const ref of selected) {
      const { link, doc } = await verifier.digest(ref, g.accountId, previous);
      if (doc) logFiles += await verifier.logFiles(doc, present, listed);
      else unreadable.add(ref.key.end - HOUR_MS);
      previous = link;
    }
    const newestEnd = all.at(-1)?.key.end;
    for (const log of g.logs) {
      if (listed.has(log.objectKey) || !overlaps(log.key.hour, log.key.hour + HOUR_MS, options)) continue;
      verifier.problem('inserted', log.objectKey, unlistedDetail(log.key.hour, unreadable, newestEnd));
    }
    accounts.push({
      accountId: g.accountId,
      region: g.region,
      digests: selected.length,
      logFiles,
      ...(selected[0] ? { from: isoSeconds(selected[0].key.end - HOUR_MS) } : {}),
      ...(selected.at(-1) ? { to: isoSeconds((selected.at(-1) as DigestFileRef).key.end) } : {}),
    });
  }
  return { ok: verifier.problems.length === 0, problems: verifier.problems, accounts };
}

const SET_ASIDE = '.damaged-';

/**
 * The hours not yet closed have no digest to vouch for them, so each frame of their files is
 * checked on its own; a file set aside by recovery is always reported, with the frames it lost.
 */
export async function openFileProblems(
  trail: VerifiableTrail,
  options: Pick<VerifyOptions, 'from' | 'to' | 'accountId'>,
): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  for (const file of await listFiles(trail.root, OPEN_FOLDER)) {
    const aside = file.indexOf(SET_ASIDE);
    const keyPath = aside >= 0 ? file.slice(0, aside) : file;
    const ref = parseOpenHourPath(keyPath);
    if (!ref) {
      problems.push({ kind: 'inserted', file, detail: 'not a file sealdb writes into the trail' });
      continue;
    }
    if (options.accountId !== undefined && ref.accountId !== options.accountId) continue;
    if (!overlaps(ref.hour, ref.hour + HOUR_MS, options)) continue;
    let scan: FrameScanResult | undefined;
    try {
      scan = await trail.scanOpenFile?.(file, keyPath);
    } catch (error) {
      // The server closed the hour meanwhile: its log files are checked with their digest.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (aside >= 0) {
      const lost = scan && scan.damage.length > 0 ? `lost ${describeDamage(scan.damage)}` : 'damaged';
      problems.push({
        kind: 'modified',
        file,
        detail:
          `open hour file set aside after damage (${lost}); its intact records were kept in the trail. ` +
          'Keep or remove this copy once the damage is investigated',
      });
    } else if (scan && scan.damage.length > 0) {
      problems.push({
        kind: 'modified',
        file,
        detail:
          `open hour file (not yet digested) is damaged: lost ${describeDamage(scan.damage)}; ` +
          `${scan.frames} intact record(s) remain, which the server keeps (setting the damaged file aside) when it next opens the hour`,
      });
    }
  }
  return problems;
}

/** The sealed trail of a data directory, read through its cipher. */
export function sealedTrail(files: TrailFiles): VerifiableTrail {
  return {
    root: files.root,
    list: () => files.list(),
    readClosed: (objectKey) => files.readClosed(objectKey),
    fileOf: (objectKey) => objectKey + SEALED_SUFFIX,
    scanOpenFile: (file, keyPath) => files.readOpenHour(file, keyPath),
  };
}
