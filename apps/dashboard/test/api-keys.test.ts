import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  dataApiCurl,
  dataApiUrl,
  dataUserIdFor,
  type KeyForm,
  keyRequest,
  MAX_SERVER_DATA_BYTES,
  shellWord,
} from '../src/lib/api-keys.ts';

// The API keys form (what it sends for scopes, user id and server data) and
// the app page's curl example for the HTTP data API, run through a real
// shell to check the words curl would get.

const form = (over: Partial<KeyForm> = {}): KeyForm => ({
  name: 'Backend',
  scopes: ['users'],
  userId: '',
  serverData: '',
  ...over,
});

/** The arguments curl would be called with, from bash running the command as copied. */
function curlArgs(command: string, key = 'hsk_abcdefgh_secret'): string[] {
  const out = execFileSync(
    'bash',
    ['-c', `curl() { printf '%s\\0' "$@"; }\nHUBSTREAM_KEY=${key}\n${command}`],
    { encoding: 'utf8' },
  );
  return out.split('\0').slice(0, -1);
}

describe('the API key form', () => {
  it('sends the name and scopes; user id and server data only for data keys', () => {
    expect(keyRequest(form({ name: '  Scripts ' }))).toEqual({
      ok: true,
      value: { name: 'Scripts', scopes: ['users'] },
    });
    // Left in the form from a data key, then the data scope unticked: not sent.
    expect(keyRequest(form({ userId: 'svc', serverData: '{"a":1}' }))).toEqual({
      ok: true,
      value: { name: 'Backend', scopes: ['users'] },
    });
    expect(
      keyRequest(
        form({ scopes: ['users', 'data'], userId: ' svc-1 ', serverData: '{"role":"backend"}' }),
      ),
    ).toEqual({
      ok: true,
      value: {
        name: 'Backend',
        scopes: ['users', 'data'],
        userId: 'svc-1',
        serverData: { role: 'backend' },
      },
    });
    expect(keyRequest(form({ scopes: ['data'] }))).toEqual({
      ok: true,
      value: { name: 'Backend', scopes: ['data'] },
    });
  });

  it('names the field of the first problem', () => {
    const problem = (over: Partial<KeyForm>) => {
      const r = keyRequest(form(over));
      return r.ok ? null : r.field;
    };
    expect(problem({ name: '  ' })).toBe('name');
    expect(problem({ name: 'x'.repeat(101) })).toBe('name');
    expect(problem({ scopes: [] })).toBe('scopes');
    expect(problem({ scopes: ['data'], userId: 'open:ada' })).toBe('userId');
    expect(problem({ scopes: ['data'], userId: 'u'.repeat(257) })).toBe('userId');
    expect(problem({ scopes: ['data'], serverData: '[1]' })).toBe('serverData');
    expect(problem({ scopes: ['data'], serverData: '{role:' })).toBe('serverData');
    const big = JSON.stringify({ blob: 'x'.repeat(MAX_SERVER_DATA_BYTES) });
    expect(problem({ scopes: ['data'], serverData: big })).toBe('serverData');
  });

  it('says which user id a data key will act as', () => {
    expect(dataUserIdFor(form({ name: 'Worker' }))).toBe('api-key:Worker');
    expect(dataUserIdFor(form({ userId: ' svc ' }))).toBe('svc');
  });
});

describe('the data API curl example', () => {
  it('posts an event emit and a record read to the realtime URL, with the key', () => {
    expect(dataApiUrl('wss://localhost:6020/app1')).toBe('https://localhost:6020/app1/api');
    expect(dataApiUrl('ws://rt.example.com/app1/')).toBe('http://rt.example.com/app1/api');
    const command = dataApiCurl({ url: 'wss://localhost:6020/app1', caFile: null });
    expect(command).toContain('export HUBSTREAM_KEY=hsk_');
    const args = curlArgs(command);
    expect(args.slice(0, 4)).toEqual(['-sS', '-X', 'POST', 'https://localhost:6020/app1/api']);
    expect(args).not.toContain('--cacert');
    expect(args).toContain('Authorization: Bearer hsk_abcdefgh_secret');
    expect(args).toContain('content-type: application/json');
    const body = JSON.parse(args[args.indexOf('-d') + 1]!);
    expect(body).toEqual({
      body: [
        {
          topic: 'event',
          action: 'emit',
          eventName: 'greetings',
          data: { text: 'Hello over HTTP' },
        },
        { topic: 'record', action: 'read', recordName: 'hello/world' },
      ],
    });
  });

  it("trusts the local CA when the server uses one, whatever its file's name", () => {
    const caFile = "/home/o'neil/my certs/ca.pem";
    const args = curlArgs(
      dataApiCurl({ url: 'wss://localhost:6020/app1', caFile, record: "it's/here" }),
    );
    expect(args.slice(1, 3)).toEqual(['--cacert', caFile]);
    expect(JSON.parse(args[args.indexOf('-d') + 1]!).body[1].recordName).toBe("it's/here");
    expect(shellWord('/plain/ca.pem')).toBe('/plain/ca.pem');
    expect(shellWord("a'b c")).toBe("'a'\\''b c'");
  });
});
