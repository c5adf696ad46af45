import { createRequire } from 'node:module';

// What the text-codec tests share: the real 2.3.4 client's message parser,
// and the spelling of its specs for separators.

const require = createRequire(import.meta.url);
const clientRequire = createRequire(require.resolve('deepstream.io-client-js/package.json'));

/** deepstream.io-client-js 2.3.4's own parser of server frames. */
export const parser = clientRequire('./src/message/message-parser.js') as {
  parse(
    frame: string,
    client: unknown,
  ): ({ topic: string; action: string; data: string[] } | null)[];
};

/** `|` for the unit separator, `+` for the record separator, as the client specs write messages. */
export const t = (text: string) => text.replaceAll('|', '\x1f').replaceAll('+', '\x1e');
