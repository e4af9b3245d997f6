/**
 * Bearer-token checks in constant time. The token is never logged, echoed or compared byte by
 * byte: both sides are hashed (SHA-256) and the digests compared with `timingSafeEqual`, so the
 * time taken reveals neither the token's content nor its length.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Compare two secrets in constant time (independent of where they differ and of their lengths). */
export function constantTimeEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * True when an `Authorization` header carries `Bearer <token>` (scheme case-insensitive, as
 * RFC 6750 allows). A missing or malformed header is false.
 */
export function bearerTokenMatches(header: string | string[] | undefined, token: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  // Compare even when malformed, so a malformed header takes the same time as a wrong token.
  return constantTimeEquals(m?.[1] ?? '', token) && m !== null;
}
