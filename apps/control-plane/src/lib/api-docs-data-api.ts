import { APP_ID, APP_USER } from './api-docs-examples.ts';

// The HTTP data API (issue 15) is served by the realtime nodes, not by this
// control plane: its paths are added to the document with a `servers`
// override naming the realtime URL. Its format is deepstream's
// (docs/client-http/v1): a well-formed request gets 200 with one result per
// command; a malformed one, or a refused login or key, gets a plain-text 4xx.

/** The realtime nodes' HTTP base URL: the public realtime URL with http(s) for ws(s). */
export const realtimeHttpUrl = (publicRealtimeUrl: string) =>
  publicRealtimeUrl.replace(/^wss:\/\//, 'https://').replace(/^ws:\/\//, 'http://');

type Schema = Record<string, unknown>;

const DATA_TAG = 'data API (realtime nodes)';

const command = (
  topic: string,
  action: string,
  fields: Record<string, Schema>,
  required: string[],
  description: string,
): Schema => ({
  type: 'object',
  title: `${topic} ${action}`,
  description,
  properties: {
    topic: { type: 'string', const: topic },
    action: { type: 'string', const: action },
    ...fields,
  },
  required: ['topic', 'action', ...required],
  additionalProperties: false,
});

const NAME = (what: string): Schema => ({ type: 'string', minLength: 1, description: what });
const ANY_JSON: Schema = { description: 'Any JSON value.' };

const COMMANDS: Schema[] = [
  command(
    'event',
    'emit',
    { eventName: NAME('The event, e.g. "news".'), data: ANY_JSON },
    ['eventName'],
    'Emit an event to its subscribers on every node. Success means the rules allowed it.',
  ),
  command(
    'record',
    'read',
    { recordName: NAME('The record, e.g. "cities/hamburg".') },
    ['recordName'],
    'Read a record: `version` and `data`; RECORD_NOT_FOUND when it does not exist.',
  ),
  command(
    'record',
    'head',
    { recordName: NAME('The record.') },
    ['recordName'],
    "Read a record's version only.",
  ),
  command(
    'record',
    'write',
    {
      recordName: NAME('The record; created when it does not exist.'),
      path: { type: 'string', description: 'Write only this path, e.g. "address.city".' },
      version: {
        type: 'integer',
        minimum: -1,
        description:
          'The version this write makes (current + 1): VERSION_EXISTS when another got there first. Left out or -1: write whatever the version.',
      },
      data: {
        description: 'The whole record (an object or array), or the value at `path`.',
      },
    },
    ['recordName', 'data'],
    'Write a whole record or one path; acknowledged once stored, like a client write with an acknowledgement.',
  ),
  command(
    'record',
    'delete',
    { recordName: NAME('The record.') },
    ['recordName'],
    'Delete a record (succeeds when it does not exist).',
  ),
  command(
    'record',
    'notify',
    {
      recordNames: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', minLength: 1 },
        description: 'Records changed in storage behind our back: subscribers get them anew.',
      },
    },
    ['recordNames'],
    'Tell subscribers that records changed outside Hubstream.',
  ),
  command(
    'list',
    'read',
    { listName: NAME('The list.') },
    ['listName'],
    'Read a list (a record holding an array of record names): `version` and `data`.',
  ),
  command(
    'list',
    'write',
    {
      listName: NAME('The list.'),
      version: { type: 'integer', minimum: -1 },
      data: { type: 'array', items: { type: 'string' }, description: "The list's entries." },
    },
    ['listName', 'data'],
    'Write a list.',
  ),
  command('list', 'delete', { listName: NAME('The list.') }, ['listName'], 'Delete a list.'),
  command(
    'rpc',
    'make',
    { rpcName: NAME('The RPC, e.g. "add-two".'), data: ANY_JSON },
    ['rpcName'],
    'Make an RPC: a provider on any node answers; its answer is `data`. NO_RPC_PROVIDER, ACCEPT_TIMEOUT or RESPONSE_TIMEOUT otherwise.',
  ),
  command(
    'presence',
    'query',
    {
      names: {
        type: 'array',
        items: { type: 'string' },
        description: 'Only these users: `users` is then an object of id → online.',
      },
    },
    [],
    'Who is online over WebSocket (HTTP requests never are): `users`, the user ids.',
  ),
];

const COMMAND_RESULT: Schema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    error: { type: 'string', description: 'What went wrong (failures only).' },
    errorTopic: { type: 'string', description: 'e.g. "record".' },
    errorEvent: {
      type: 'string',
      description:
        'e.g. MESSAGE_DENIED (the rules refused it), RECORD_NOT_FOUND, VERSION_EXISTS, NO_RPC_PROVIDER, RESPONSE_TIMEOUT, HTTP_REQUEST_TIMEOUT.',
    },
    errorAction: { type: 'string', description: 'The refused action, for MESSAGE_DENIED.' },
    data: { description: 'record/list read: the data; rpc make: the answer.' },
    version: { type: 'integer', description: 'record/list read and head: the version.' },
    users: {
      description: 'presence query: the user ids online (an object of id → online with `names`).',
    },
    currentVersion: { type: 'integer', description: 'VERSION_EXISTS: the stored version.' },
    currentData: { description: 'VERSION_EXISTS: the stored data.' },
  },
  required: ['success'],
};

const DATA_REQUEST_EXAMPLE = {
  body: [
    { topic: 'event', action: 'emit', eventName: 'news', data: { text: 'Hello' } },
    { topic: 'record', action: 'read', recordName: 'settings/main' },
    { topic: 'record', action: 'write', recordName: 'scores/ada', path: 'points', data: 42 },
  ],
};

const DATA_RESPONSE_EXAMPLE = {
  result: 'PARTIAL_SUCCESS',
  body: [
    { success: true },
    {
      success: false,
      error: 'Record read failed. Record "settings/main" could not be found.',
      errorTopic: 'record',
      errorEvent: 'RECORD_NOT_FOUND',
    },
    { success: true },
  ],
};

const text = (description: string, example: string): Schema => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' }, example } },
});

const DATA_ERRORS: Record<string, Schema> = {
  '400': text(
    "The request is malformed: not JSON, larger than the app's message size limit, `body` missing, empty or longer than HTTP_API_MAX_COMMANDS, or a command with an unknown topic or action or a missing field (the text names its index). No command ran.",
    "Failed to parse JIF object at index 0. Reason: property 'eventName' is required for topic 'event' action 'emit'",
  ),
  '401': text(
    "The login was refused (authData, or a token the app's webhook judges), the token is unknown or expired, or the API key is malformed, unknown or revoked.",
    'Unsuccessful authentication attempt.',
  ),
  '403': text(
    'The API key lacks the "data" scope.',
    "This API key may not use the HTTP data API: it lacks the 'data' scope (it can only manage the app's users). Create a key with the 'data' scope on the app's API keys page.",
  ),
  '404': text('No app has this id.', 'No app has the id k3j2h1g9f8d7.'),
  '415': text(
    'The body is not sent as application/json.',
    'Invalid "Content-Type" header. Supported media types: "application/json"',
  ),
  '429': text(
    "HTTP_API_MAX_REQUESTS_PER_ADDRESS requests from the client's address are already in progress on this node; nothing of this one ran.",
    'Too many HTTP API requests in progress from this address (at most 32, HTTP_API_MAX_REQUESTS_PER_ADDRESS): wait for the earlier ones to be answered.',
  ),
};

const APP_ID_PARAM = {
  name: 'appId',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9]{1,64}$' },
  description: 'The app id, as in its realtime URL.',
  example: APP_ID,
};

/** The data API's paths, served by `realtimeUrl` (http or https). */
export function dataApiPaths(realtimeUrl: string): Record<string, Schema> {
  const servers = [
    {
      url: realtimeUrl,
      description:
        'The realtime nodes (the WebSocket endpoint, same host and port): not this control plane.',
    },
  ];
  return {
    '/{appId}/api': {
      post: {
        servers,
        tags: [DATA_TAG],
        summary: 'Run a batch of data commands (events, records, lists, RPCs, presence)',
        description:
          'deepstream\'s HTTP API. The commands run in order, each with its own result; one failing does not stop the others. Valve rules apply to each exactly as to the same action over WebSocket, and each counts as a message against the app\'s limits. Authenticate with `Authorization: Bearer <app API key>` (a key with the "data" scope: it acts as its `userId`, or "api-key:" and its name, with its `serverData` as `user.data`), or `token` from `POST /{appId}/api/auth`, or `authData` in the body; with open auth, with nothing. Send one of them only.',
        parameters: [APP_ID_PARAM],
        security: [{ bearer: [] }, {}],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  token: { type: 'string', description: 'From POST /{appId}/api/auth.' },
                  authData: {
                    type: 'object',
                    description: 'Log in with this request, as `client.login(authData)` does.',
                  },
                  body: { type: 'array', minItems: 1, items: { oneOf: COMMANDS } },
                },
                required: ['body'],
              },
              example: DATA_REQUEST_EXAMPLE,
            },
          },
        },
        responses: {
          '200': {
            description:
              'Every command ran: `result` is SUCCESS when all succeeded, FAILURE when none did, PARTIAL_SUCCESS otherwise; `body` has one result per command, in order. Check `result`: a 200 does not mean that the commands succeeded.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    result: { type: 'string', enum: ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILURE'] },
                    body: { type: 'array', items: COMMAND_RESULT },
                  },
                  required: ['result', 'body'],
                },
                example: DATA_RESPONSE_EXAMPLE,
              },
            },
          },
          ...DATA_ERRORS,
        },
      },
    },
    '/{appId}/api/auth': {
      post: {
        servers,
        tags: [DATA_TAG],
        summary: 'Log in for the data API: a token for later requests',
        description:
          "The body is the authData, as `client.login(authData)` sends it, through the app's auth strategies. The token stays valid for HTTP_API_TOKEN_TTL_MS on every node.",
        parameters: [APP_ID_PARAM],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', description: 'The authData.' },
              example: { type: 'email', email: 'user@example.com', password: 'their password' },
            },
          },
        },
        responses: {
          '200': {
            description: 'Logged in: send `token` in later requests.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    token: { type: 'string' },
                    clientData: { description: 'What the login gives the client.' },
                  },
                  required: ['token'],
                },
                example: {
                  token: 'hst_7Yc2…',
                  clientData: { id: APP_USER.id },
                },
              },
            },
          },
          '400': DATA_ERRORS['400']!,
          '401': DATA_ERRORS['401']!,
          '404': DATA_ERRORS['404']!,
          '415': DATA_ERRORS['415']!,
          '429': DATA_ERRORS['429']!,
        },
      },
    },
  };
}
