/**
 * RestoreJobs' claims on a restore's target name (src/dynamodb/backups/restore-leases.ts): a
 * second restore into a name another request is filling is refused, and the refused one's end
 * leaves the first one's claim (and, over the engine, its lease) standing, or the first one's
 * table would look like a dead node's to the next sweep.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestoreJobs } from '../../src/dynamodb/backups/restore-leases.js';

describe('restore jobs', () => {
  it("keeps a restore's claim on its name when another restore into it is refused", async () => {
    const jobs = new RestoreJobs();
    const first = {};
    const refused = {};
    await jobs.begin('000000000000', 'us-east-1', 'Twin', first);
    await assert.rejects(jobs.begin('000000000000', 'us-east-1', 'Twin', refused), {
      code: 'TableAlreadyExistsException',
      message: 'Table already exists: Twin',
    });
    jobs.end('000000000000', 'us-east-1', 'Twin', refused);
    await assert.rejects(jobs.begin('000000000000', 'us-east-1', 'Twin', {}), { code: 'TableAlreadyExistsException' });
    // The same request run again finds its own claim.
    assert.equal(await jobs.begin('000000000000', 'us-east-1', 'Twin', first), undefined);
    jobs.end('000000000000', 'us-east-1', 'Twin', first);
    await jobs.begin('000000000000', 'us-east-1', 'Twin', {});
  });
});
