// A node's own registrations (app → names), kept in memory by both
// registries so that `restore` can write them back.

export function addTo(map: Map<string, Set<string>>, appId: string, name: string) {
  let names = map.get(appId);
  if (!names) {
    names = new Set();
    map.set(appId, names);
  }
  names.add(name);
}

export function deleteFrom(map: Map<string, Set<string>>, appId: string, name: string) {
  const names = map.get(appId);
  names?.delete(name);
  if (names?.size === 0) map.delete(appId);
}
