// ioredis as one module. scripts/build.mjs bundles this file with ioredis and
// its dependencies into dist/vendor/ioredis.cjs: they are some 100 small
// CommonJS files, which a process would otherwise resolve and load one by
// one at its start. From sources (tests), this file simply requires ioredis.
module.exports = require('ioredis');
