/**
 * Tenant ids for the bench, one per execution in flight. An earlier supervised pool pinned
 * tenants to workers by an FNV-1a hash of the id, so the bench picks ids that spread evenly under
 * that hash; a pool that assigns tenants itself (as the autoscaling pool does) is unaffected.
 */
export function fnv1aSlot(tenantId: string, slots: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i++) {
    hash ^= tenantId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % slots;
}

/** `count` tenant ids with prefix, spread round-robin over `workers` slots. */
export function balancedTenants(prefix: string, count: number, workers: number): string[] {
  const bySlot: string[][] = Array.from({ length: workers }, () => []);
  const wanted = Math.ceil(count / workers);
  for (let i = 0; bySlot.some((list) => list.length < wanted) && i < count * 1000; i++) {
    const id = `${prefix}-${i}`;
    const list = bySlot[fnv1aSlot(id, workers)] as string[];
    if (list.length < wanted) list.push(id);
  }
  const result: string[] = [];
  for (let i = 0; result.length < count; i++) {
    const list = bySlot[i % workers] as string[];
    const id = list[Math.floor(i / workers)];
    if (id === undefined) break;
    result.push(id);
  }
  return result;
}
