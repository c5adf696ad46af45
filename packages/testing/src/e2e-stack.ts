import { type BusEnvelope, InlineJobQueue, type JobDefinition, LocalBus } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import { SEND_EMAIL_JOB } from '@hubstream/jobs';
import { buildApp as buildRealtime, UsageReporter } from '@hubstream/realtime';
import { createLogger } from '@hubstream/service';
import { createJobDefinitions } from '@hubstream/worker';

// The stack the dashboard's end-to-end tests run against (moved from
// apps/dashboard/test/e2e-stack.ts, which builds the dashboard and drives
// Chromium): a real control plane (which serves the built dashboard) and a
// real realtime node, on a fresh database on the real Postgres, with the
// worker's jobs run inline, the send-email job recording the mails instead
// (and, given an SMTP server, sending them too).

export type Mail = { to: string; subject: string; text: string; html: string };

export type E2EStack = {
  controlPlaneUrl: string;
  realtimeUrl: string;
  /** Every mail the control plane sent (the send-email job records instead of sending). */
  mails: Mail[];
  announced: BusEnvelope<'app.changed'>[];
  close(): Promise<void>;
};

const portOf = (server: { server: { address(): unknown } }) => {
  const address = server.server.address() as { port: number } | null;
  return address?.port ?? 0;
};

export async function startE2EStack(
  options: {
    /** Send mail over SMTP for real (a test's local server, startMailbox) as well as record it. */
    smtpUrl?: string;
  } = {},
): Promise<E2EStack> {
  const testDb = await createTestDatabase('dash');
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  const env = {
    ACCOUNT_RATE_LIMIT_MAX: '1000',
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
    USAGE_REPORT_INTERVAL_MS: '1000',
    ...(options.smtpUrl
      ? { SMTP_URL: options.smtpUrl, MAIL_FROM: 'Hubstream <no-reply@hub.example.test>' }
      : {}),
  };
  const logger = createLogger({ level: 'silent', name: 'e2e' });
  const bus = new LocalBus({ nodeId: 'e2e' });
  const announced: BusEnvelope<'app.changed'>[] = [];
  bus.subscribe('app.changed', (m) => announced.push(m));
  const mails: Mail[] = [];
  const baseConfig = loadConfig(env);
  const definitions = createJobDefinitions({
    config: baseConfig,
    logger,
    prisma: db.prisma,
  }).map(
    (definition): JobDefinition =>
      definition.name === SEND_EMAIL_JOB
        ? {
            ...definition,
            async handle(payload) {
              mails.push(payload as Mail);
              if (options.smtpUrl) await definition.handle(payload);
            },
          }
        : definition,
  );
  const jobs = new InlineJobQueue(definitions, logger);

  // The realtime node first, so the control plane can name its real URL in
  // every app's `url`, which the test then connects to.
  const realtime = await buildRealtime({
    config: baseConfig,
    db,
    bus,
    jobs,
    logger,
    cluster: { kind: 'local' },
  });
  await realtime.listen({ host: '127.0.0.1', port: 0 });
  // As apps/realtime's main does: the node's usage goes to the usage samples.
  const usage = new UsageReporter({
    nodeId: 'e2e',
    runtimes: () => realtime.hubstream.registry.loaded(),
    jobs,
    intervalMs: baseConfig.USAGE_REPORT_INTERVAL_MS,
    sampleIntervalMs: 200,
    logger,
  });
  usage.start();
  const realtimeUrl = `ws://127.0.0.1:${portOf(realtime)}`;
  const controlPlane = await buildControlPlane({
    config: loadConfig({ ...env, PUBLIC_REALTIME_URL: realtimeUrl }),
    db,
    bus,
    jobs,
    logger,
  });
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });

  return {
    controlPlaneUrl: `http://127.0.0.1:${portOf(controlPlane)}`,
    realtimeUrl,
    mails,
    announced,
    async close() {
      await usage.stop();
      await realtime.close();
      await controlPlane.close();
      await jobs.close();
      await bus.close();
      await db.close();
      await testDb.drop();
    },
  };
}
