/** Valve rules that allow everything (tests that are not about permissions). */
export const ALLOW_ALL = `record:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\n    listen: true\n    notify: true\nevent:\n  "*":\n    publish: true\n    subscribe: true\n    listen: true\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: true\n`;
