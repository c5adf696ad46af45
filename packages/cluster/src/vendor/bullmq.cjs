// BullMQ as one module, bundled like ./ioredis.cjs into
// dist/vendor/bullmq.cjs, except for ioredis: the bundle requires
// ./ioredis.cjs, so a process has one ioredis for its own clients and
// BullMQ's. Apart so that a process loads BullMQ (four times ioredis' code)
// only when it first enqueues or runs a job, not on its way to ready.
module.exports = require('bullmq');
