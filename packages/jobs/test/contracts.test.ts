import { InlineJobQueue, InvalidJobPayloadError, type JobDefinition } from '@hubstream/cluster';
import { describe, expect, it } from 'vitest';
import {
  enqueueJob,
  enqueueOnly,
  JOB_CONTRACTS,
  JobNotRunHereError,
  jobHandler,
  PERSIST_RECORDS_JOB,
  persistRecordsContract,
  SEND_EMAIL_JOB,
  sendEmailContract,
} from '../src/index.ts';

const quiet = { warn() {}, error() {} };

describe('job contracts', () => {
  it('names every job once', () => {
    const names = JOB_CONTRACTS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(['send-email', 'usage-rollup', 'purge-app', 'persist-records']);
  });

  it('an enqueue-only queue validates payloads against the contract', async () => {
    const queue = new InlineJobQueue(enqueueOnly(JOB_CONTRACTS), quiet);
    await expect(queue.enqueue(SEND_EMAIL_JOB, { to: 'nobody' })).rejects.toThrow(
      InvalidJobPayloadError,
    );
    await expect(
      queue.enqueue(PERSIST_RECORDS_JOB, { records: [{ appId: 'a*b', name: 'r' }] }),
    ).rejects.toThrow(InvalidJobPayloadError);
    await queue.close();
  });

  it('an enqueue-only definition refuses to run the job', async () => {
    const [sendEmail] = enqueueOnly([sendEmailContract]);
    await expect(sendEmail?.handle({ to: 'a@b.example', subject: 's', text: 't' })).rejects.toThrow(
      JobNotRunHereError,
    );
  });

  it('a handler keeps the contract and runs the typed payload', async () => {
    const seen: unknown[] = [];
    const definition: JobDefinition = jobHandler(persistRecordsContract, async (payload) => {
      seen.push(payload.records.map((r) => r.name));
    });
    expect(definition).toMatchObject({
      name: PERSIST_RECORDS_JOB,
      attempts: persistRecordsContract.attempts,
      backoffMs: persistRecordsContract.backoffMs,
    });
    const queue = new InlineJobQueue([definition], quiet);
    await enqueueJob(queue, persistRecordsContract, {
      records: [{ appId: 'abcdef123456', name: 'r' }],
    });
    await queue.close();
    expect(seen).toEqual([['r']]);
  });
});
