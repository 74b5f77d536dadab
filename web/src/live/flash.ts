// Which objects changed a moment ago, so rows and cards can flash once. Written by the live
// cache when a change arrives; read by the views when they render a row.
const FLASH_MS = 2000;
const changedAt = new Map<string, number>();

export function markChanged(id: string, now: number = Date.now()): void {
  changedAt.set(id, now);
  if (changedAt.size > 5000) {
    for (const [k, t] of changedAt) if (now - t > FLASH_MS) changedAt.delete(k);
  }
}

export function changedRecently(id: string, now: number = Date.now()): boolean {
  const t = changedAt.get(id);
  return t !== undefined && now - t < FLASH_MS;
}
