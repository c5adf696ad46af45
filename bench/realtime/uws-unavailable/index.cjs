// deepstream loads uWebSockets.js only for its 'uws' HTTP server, which the
// bench does not use (server-deepstream.ts runs the default Node one).
throw new Error(
  'uWebSockets.js is not installed in this workspace: use deepstream with its default HTTP server',
);
