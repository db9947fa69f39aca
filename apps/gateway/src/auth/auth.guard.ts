/**
 * The gateway's one door for HTTP: every route needs a valid `Authorization: Bearer <token>` unless
 * it is marked `@Public()`, and a route marked `@Roles(...)` also needs one of those roles (or a
 * higher one). Registered globally (APP_GUARD), so a new controller is protected by default.
 *
 * WebSocket connections are authenticated once, at the handshake, by the realtime code calling
 * `TokenVerifier.verify`; their per-message contexts pass through here untouched.
 */
import {
  createParamDecorator,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../http/api-error';
import { hasRole, type Principal, type Role } from './principal';
import { TokenVerifier } from './token-verifier';

const PUBLIC_KEY = 'auth:public';
const ROLES_KEY = 'auth:roles';

/** What the guard needs of the HTTP request and response, whatever the platform adapter. */
export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}
interface ChallengeableResponse {
  setHeader(name: string, value: string): unknown;
}

/** Skips authentication: health probes, API docs. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** The least role(s) a route needs; with several, any one of them (or a higher role) will do. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** The verified caller; only meaningful on routes that are not `@Public()`. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const response = http.getResponse<ChallengeableResponse>();
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'token_missing', 'send the token as "Authorization: Bearer <token>"');
    }
    let principal: Principal;
    try {
      principal = await this.verifier.verify(token);
    } catch (error) {
      // RFC 6750: a refused token is challenged too, so clients know to fetch a new one.
      if (error instanceof ApiError && error.getStatus() === 401) {
        response.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      }
      throw error;
    }
    request.principal = principal;

    const needed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (needed?.length && !needed.some((role) => hasRole(principal, role))) {
      throw new ApiError(
        403,
        'forbidden_role',
        needed.length === 1 ? `this route needs the ${needed[0]} role` : `this route needs one of the roles ${needed.join(', ')}`,
      );
    }
    return true;
  }
}

function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return /^Bearer +(\S+) *$/i.exec(header)?.[1];
}
