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

function readPackage(manifest) {
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
