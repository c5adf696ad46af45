import { Writable } from 'node:stream';
import { createLogger } from '@hubstream/service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, signUp, startControlPlane } from './harness.ts';

// One log line per answered request; a refusal of the client's input (4xx)
// writes none at info, so malformed requests cannot fill the log.

type Line = Record<string, unknown> & { req?: { method?: string; url?: string } };
const lines: Line[] = [];
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
let h: Harness;

beforeAll(async () => {
  process.on('warning', onWarning);
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  h = await startControlPlane('pglite', {
    logger: createLogger({ level: 'info', name: 'test', destination }),
  });
});

afterAll(async () => {
  process.off('warning', onWarning);
  await h?.close();
});

const about = (url: string) => lines.filter((l) => l.req?.url === url);

describe('request log', () => {
  it('writes one info line per answered request, with its method, URL and status', async () => {
    await signUp(h);
    const signup = about('/v1/signup');
    expect(signup).toHaveLength(1);
    expect(signup[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'POST', url: '/v1/signup' },
      res: { statusCode: 201 },
    });
    expect(typeof signup[0]!.reqId).toBe('string');
    expect(lines.some((l) => l.msg === 'incoming request')).toBe(false);
  });

  it('writes no info line for a malformed request it refuses', async () => {
    const refused = await h.call('POST', '/v1/login', { body: { email: 42 } });
    expect(refused.status).toBe(400);
    const unknown = await h.call('GET', '/v1/no-such-route');
    expect(unknown.status).toBe(404);
    // A request answered after them: its line is written, theirs are not.
    await signUp(h);
    expect(about('/v1/signup')).toHaveLength(2);
    expect(about('/v1/login')).toEqual([]);
    expect(about('/v1/no-such-route')).toEqual([]);
  });

  it('is set up without a deprecated Fastify option (FSTDEP023 was printed at every start)', () => {
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
});
