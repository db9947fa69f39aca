/**
 * The signed-in token. It lives in sessionStorage (one tab, gone when the tab closes) and may arrive
 * in the URL fragment (`#token=<jwt>`, so a demo can print clickable links; a fragment never reaches
 * a server or a Referer header) — it is taken out of the address bar at once. The claims are decoded
 * only to label the UI; the gateway verifies the token on every call.
 */
import type { Role } from '../api/api.types';

export const TOKEN_KEY = 'desk.token';

export interface Session {
  token: string;
  agentId: string;
  tenantId: string;
  role: Role;
  /** Milliseconds since the epoch; undefined when the token has no exp. */
  expiresAt?: number;
}

const ROLES: readonly Role[] = ['agent', 'supervisor', 'admin'];

function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The session a token describes, or an error message when it is not a JWT the desk can use. */
export function sessionFromToken(raw: string): Session | string {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part)) || !parts[1]) {
    return 'That is not a JWT (three base64url parts separated by dots).';
  }
  let claims: { sub?: unknown; tenant?: unknown; role?: unknown; exp?: unknown };
  try {
    claims = decodeSegment(parts[1]) as typeof claims;
  } catch {
    return 'The token payload cannot be read.';
  }
  if (typeof claims.sub !== 'string' || !claims.sub) return 'The token has no subject (agent id).';
  const role = ROLES.includes(claims.role as Role) ? (claims.role as Role) : 'agent';
  return {
    token,
    agentId: claims.sub,
    tenantId: typeof claims.tenant === 'string' ? claims.tenant : 'default',
    role,
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
  };
}

export function isSupervisor(session: Pick<Session, 'role'>): boolean {
  return session.role === 'supervisor' || session.role === 'admin';
}

/**
 * Takes `token=<jwt>` out of the fragment, keeping any route in it — `#token=…`, `#token=…&route=/supervisor`,
 * `#/supervisor?token=…` and `#/supervisor#token=…` all work — and rewrites the address bar without it.
 */
export function takeFragmentToken(location: Pick<Location, 'hash' | 'pathname' | 'search'>, history: Pick<History, 'replaceState'>): string | undefined {
  const parts = location.hash.replace(/^#/, '').split(/[?&#]/).filter(Boolean);
  const route = parts[0]?.startsWith('/') ? parts.shift() : undefined;
  const params = new URLSearchParams(parts.join('&'));
  const token = params.get('token');
  if (token === null) return undefined;
  params.delete('token');
  const nextRoute = route ?? params.get('route') ?? '';
  params.delete('route');
  const rest = params.toString();
  const nextHash = nextRoute ? `#${nextRoute}${rest ? `?${rest}` : ''}` : rest ? `#${rest}` : '';
  history.replaceState(null, '', `${location.pathname}${location.search}${nextHash}`);
  return token || undefined;
}

export function loadToken(storage: Pick<Storage, 'getItem'>): string | undefined {
  try {
    return storage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(storage: Pick<Storage, 'setItem' | 'removeItem'>, token: string | undefined): void {
  try {
    if (token) storage.setItem(TOKEN_KEY, token);
    else storage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}
