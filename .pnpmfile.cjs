// pnpm's hook on package manifests as they are resolved.
//
// @prisma/client declares `prisma` (the CLI) and `typescript` as optional
// peer dependencies, and pnpm satisfies optional peers from the workspace
// (packages/db has the CLI as a devDependency, the root has TypeScript):
// they would then become real dependencies of the client, so the production
// install (`pnpm deploy --prod`, the image's runtime stage) would carry the
// Prisma CLI, Prisma Studio, React and TypeScript. Our client is generated
// ahead of time (packages/db/src/generated) and runs on driver adapters: it
// needs neither at run time.
const DROPPED_PEERS = {
  '@prisma/client': ['prisma', 'typescript'],
};

// @deepstream/server (deepstream, the realtime bench's comparison, a
// devDependency of apps/realtime) names uWebSockets.js from GitHub, which
// installs here cannot reach. deepstream loads it only for its 'uws' HTTP
// server; the bench runs its default Node one.
const DROPPED_DEPENDENCIES = {
  '@deepstream/server': ['uWebSockets.js'],
};

function readPackage(manifest) {
  for (const name of DROPPED_DEPENDENCIES[manifest.name] ?? []) {
    if (manifest.dependencies) delete manifest.dependencies[name];
  }
  const dropped = DROPPED_PEERS[manifest.name];
  if (dropped) {
    for (const name of dropped) {
      if (manifest.peerDependencies) delete manifest.peerDependencies[name];
      if (manifest.peerDependenciesMeta) delete manifest.peerDependenciesMeta[name];
    }
  }
  return manifest;
}

module.exports = { hooks: { readPackage } };
