// Starter rules a new app may begin with (as Firebase asks "locked or test
// mode"). Each is a complete Valve file, checked and exercised by the Valve
// test suite; the control plane stores the chosen one as the app's first
// permissions version and remembers which template it came from.

export const TEMPLATE_NAMES = ['development', 'signed-in', 'locked'] as const;

export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export type Template = {
  name: TemplateName;
  /** One line for the create-app form. */
  title: string;
  description: string;
  valve: string;
};

const DEVELOPMENT = `# Development: every action is allowed for everyone, logged in or not.
# Good for trying things out on your own machine. Before real users arrive,
# replace it with rules of your own (Permissions page).
record:
  "*":
    create: true
    read: true
    write: true
    delete: true
    listen: true
    notify: true
event:
  "*":
    publish: true
    subscribe: true
    listen: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
`;

const SIGNED_IN = `# Signed in: only authenticated users (email or webhook login) may do
# anything. Open logins are not authenticated, so they are denied.
# Each user owns the records under users/<their id>/: only they may create,
# read, change and delete them. Signed-in users may publish and subscribe to
# events, provide and request RPCs, and see who is online.
record:
  "*":
    create: false
    read: false
    write: false
    delete: false
    listen: false
    notify: false
  "users/$userid/*":
    create: "user.isAuthenticated && $userid == user.id"
    read: "user.isAuthenticated && $userid == user.id"
    write: "user.isAuthenticated && $userid == user.id"
    delete: "user.isAuthenticated && $userid == user.id"
event:
  "*":
    publish: "user.isAuthenticated"
    subscribe: "user.isAuthenticated"
    listen: false
rpc:
  "*":
    provide: "user.isAuthenticated"
    request: "user.isAuthenticated"
presence:
  "*":
    allow: "user.isAuthenticated"
`;

const LOCKED = `# Locked: every action is denied to every client. Write the rules your app
# needs on the Permissions page before clients can do anything.
record:
  "*":
    create: false
    read: false
    write: false
    delete: false
    listen: false
    notify: false
event:
  "*":
    publish: false
    subscribe: false
    listen: false
rpc:
  "*":
    provide: false
    request: false
presence:
  "*":
    allow: false
`;

export const TEMPLATES: Readonly<Record<TemplateName, Template>> = {
  development: {
    name: 'development',
    title: 'Development',
    description: 'Everything is allowed for everyone. Only for trying things out.',
    valve: DEVELOPMENT,
  },
  'signed-in': {
    name: 'signed-in',
    title: 'Signed-in users',
    description:
      'Only authenticated users (email or webhook login); each owns the records under users/<id>/.',
    valve: SIGNED_IN,
  },
  locked: {
    name: 'locked',
    title: 'Locked',
    description: 'Everything is denied until you write rules.',
    valve: LOCKED,
  },
};

export const isTemplateName = (value: unknown): value is TemplateName =>
  typeof value === 'string' && (TEMPLATE_NAMES as readonly string[]).includes(value);
