/**
 * Client message ids for idempotent sends (the gateway accepts 1–128 of [A-Za-z0-9._:-]). Built from
 * getRandomValues, which — unlike randomUUID — also works on a page served over plain http.
 */
export function newClientId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Date.now().toString(36)}-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}
