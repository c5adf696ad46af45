// ioredis and BullMQ as one module. scripts/build.mjs bundles this file with
// the two packages and their dependencies into dist/vendor/redis.cjs: they
// are some 300 small CommonJS files, and a process that loads them one by one
// spends about a fifth of a second of its start on it; from one bundled file
// the same code loads in a few milliseconds more than nothing. From sources
// (tests), this file simply requires them.
module.exports = { ioredis: require('ioredis'), bullmq: require('bullmq') };
