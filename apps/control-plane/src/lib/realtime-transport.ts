// The control plane's way to a realtime node's HTTP data API, as a type of
// its own: the context (context.ts) names it and the data routes
// (routes/records/realtime-data.ts) implement it, so neither imports the other.

/** One HTTP data API call: the realtime node's status and body text. */
export type RealtimeDataTransport = (
  appId: string,
  request: { authorization: string; body: string },
) => Promise<{ status: number; text: string }>;
