/**
 * Who is calling, as established by a verified token. Roles are ordered: an admin may do anything a
 * supervisor may, and a supervisor anything an agent may, so a route names the least role it needs.
 */
export type Role = 'agent' | 'supervisor' | 'admin';

/** Least to most privileged: the index is the rank `hasRole` compares. */
export const ROLES: readonly Role[] = ['agent', 'supervisor', 'admin'];


export interface Principal {
  /** The token's `sub`, as issued. */
  subject: string;
  /** The agent the caller acts as: the same value as `subject`, named for the code that routes work. */
  agentId: string;
  tenantId: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function hasRole(principal: Pick<Principal, 'role'>, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}
