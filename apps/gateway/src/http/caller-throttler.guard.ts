import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '../auth/auth.guard';

/** Limits each caller (the token's subject within its tenant), falling back to the client address. */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = (request as unknown as AuthenticatedRequest).principal;
    if (principal) return `${principal.tenantId}/${principal.subject}`;
    return String(request.ip ?? 'unknown');
  }
}
