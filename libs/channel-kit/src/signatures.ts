/** Signature checks over raw bytes, compared in constant time (a length mismatch is simply false). */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmac(algorithm: 'sha1' | 'sha256', key: string, data: Buffer | string, encoding: 'hex' | 'base64'): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

export function safeEqual(expected: string, received: string | undefined): boolean {
  if (received === undefined) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
