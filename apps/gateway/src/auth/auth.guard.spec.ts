import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { AuthSettings } from '../gateway.config';
import { AuthGuard, CurrentPrincipal, Public, Roles } from './auth.guard';
import { hasRole, type Principal, type Role } from './principal';
import { mintDevToken, TokenVerifier } from './token-verifier';

const SETTINGS: AuthSettings = {
  secret: 'guard-spec-secret-long-enough-for-hs256-42',
  algorithms: ['HS256'],
  issuer: 'guard-spec',
  audience: 'channel-router',
  clockToleranceS: 5,
};

function tokenFor(role: Role, agentId = 'a1', secret = SETTINGS.secret!): Promise<string> {
  return mintDevToken({
    secret,
    issuer: SETTINGS.issuer,
    audience: SETTINGS.audience,
    agentId,
    tenantId: 'default',
    role,
    ttlSeconds: 60,
  });
}

@Controller()
class ProbeController {
  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Get('me')
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Roles('supervisor')
  @Get('queues')
  queues() {
    return [];
  }
}

@Roles('admin')
@Controller('admin')
class AdminController {
  @Get('tenants')
  tenants() {
    return [];
  }

  @Roles('agent')
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal) {
    return { role: principal.role };
  }
}

describe('AuthGuard', () => {
  let app: INestApplication;
  const get = (path: string, authorization?: string) => {
    const call = request(app.getHttpServer()).get(path);
    return authorization === undefined ? call : call.set('Authorization', authorization);
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController, AdminController],
      providers: [
        { provide: TokenVerifier, useValue: new TokenVerifier(SETTINGS) },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(() => app.close());

  it('lets anyone reach a @Public route', async () => {
    const response = await get('/health').expect(200);
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it('stores the verified principal on the request for @CurrentPrincipal', async () => {
    const response = await get('/me', `Bearer ${await tokenFor('agent', 'agent_7')}`).expect(200);
    expect(response.body).toEqual({ subject: 'agent_7', agentId: 'agent_7', tenantId: 'default', role: 'agent' });
  });

  it('reads the scheme case-insensitively', async () => {
    await get('/me', `bearer ${await tokenFor('agent')}`).expect(200);
    await get('/me', `BEARER ${await tokenFor('agent')}`).expect(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a Basic credential', 'Basic xyz'],
    ['the scheme without a token', 'Bearer '],
    ['a token without the scheme', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
  ])('answers 401 token_missing with a Bearer challenge to %s', async (_case, authorization) => {
    const response = await get('/me', authorization).expect(401);
    expect(response.body).toEqual({ error: { code: 'token_missing', message: 'send the token as "Authorization: Bearer <token>"' } });
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers 401 with the verifier code, and an invalid_token challenge, to a refused token', async () => {
    const response = await get('/me', 'Bearer not-a-jwt').expect(401);
    expect(response.body.error.code).toBe('token_malformed');
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    const forgedToken = await tokenFor('admin', 'a1', 'another-secret-long-enough-for-hs256-0000');
    const forged = await get('/queues', `Bearer ${forgedToken}`).expect(401);
    expect(forged.body.error.code).toBe('token_invalid');
  });

  it('answers 403 forbidden_role, naming the role, when the role is too low', async () => {
    const response = await get('/queues', `Bearer ${await tokenFor('agent')}`).expect(403);
    expect(response.body).toEqual({ error: { code: 'forbidden_role', message: 'this route needs the supervisor role' } });
    const admin = await get('/admin/tenants', `Bearer ${await tokenFor('supervisor')}`).expect(403);
    expect(admin.body.error).toEqual({ code: 'forbidden_role', message: 'this route needs the admin role' });
  });

  it('lets a higher role through: admin ⊇ supervisor ⊇ agent', async () => {
    await get('/queues', `Bearer ${await tokenFor('supervisor')}`).expect(200);
    await get('/queues', `Bearer ${await tokenFor('admin')}`).expect(200);
    await get('/admin/tenants', `Bearer ${await tokenFor('admin')}`).expect(200);
  });

  it("lets a route's @Roles override its controller's", async () => {
    const response = await get('/admin/whoami', `Bearer ${await tokenFor('agent')}`).expect(200);
    expect(response.body).toEqual({ role: 'agent' });
  });
});

describe('hasRole', () => {
  it.each([
    ['agent', 'agent', true],
    ['agent', 'supervisor', false],
    ['agent', 'admin', false],
    ['supervisor', 'agent', true],
    ['supervisor', 'supervisor', true],
    ['supervisor', 'admin', false],
    ['admin', 'agent', true],
    ['admin', 'supervisor', true],
    ['admin', 'admin', true],
  ] as const)('%s may use a route needing %s: %s', (role, needed, allowed) => {
    expect(hasRole({ role }, needed)).toBe(allowed);
  });
});
