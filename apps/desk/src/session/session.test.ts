import { describe, expect, it, vi } from 'vitest';
import { fakeToken } from '../testing/fake-socket';
import { isSupervisor, loadToken, saveToken, sessionFromToken, takeFragmentToken, TOKEN_KEY } from './session';

function locationWith(hash: string) {
  return { hash, pathname: '/desk/', search: '' };
}

describe('session', () => {
  it('reads agent, tenant, role and expiry from the token, tolerating a Bearer prefix', () => {
    const token = fakeToken({ sub: 'sup1', tenant: 't1', role: 'supervisor', exp: 2_000_000_000 });
    expect(sessionFromToken(`Bearer ${token}\n`)).toEqual({ token, agentId: 'sup1', tenantId: 't1', role: 'supervisor', expiresAt: 2_000_000_000_000 });
    expect(isSupervisor({ role: 'admin' })).toBe(true);
    expect(isSupervisor({ role: 'agent' })).toBe(false);
  });

  it('refuses what is not a JWT with a reason', () => {
    expect(sessionFromToken('hello')).toMatch(/not a JWT/);
    expect(sessionFromToken('a.!!.c')).toMatch(/not a JWT/);
    expect(sessionFromToken(fakeToken({ sub: undefined }))).toMatch(/subject/);
  });

  it('takes #token=… out of the address bar and keeps the route', () => {
    const history = { replaceState: vi.fn() };
    expect(takeFragmentToken(locationWith('#token=abc.def.ghi'), history)).toBe('abc.def.ghi');
    expect(history.replaceState).toHaveBeenLastCalledWith(null, '', '/desk/');
    expect(takeFragmentToken(locationWith('#token=abc.def.ghi&route=/supervisor'), history)).toBe('abc.def.ghi');
    expect(history.replaceState).toHaveBeenLastCalledWith(null, '', '/desk/#/supervisor');
    expect(takeFragmentToken(locationWith('#/supervisor?token=abc.def.ghi'), history)).toBe('abc.def.ghi');
    expect(history.replaceState).toHaveBeenLastCalledWith(null, '', '/desk/#/supervisor');
    expect(takeFragmentToken(locationWith('#/supervisor#token=abc.def.ghi'), history)).toBe('abc.def.ghi');
    expect(history.replaceState).toHaveBeenLastCalledWith(null, '', '/desk/#/supervisor');
    history.replaceState.mockClear();
    expect(takeFragmentToken(locationWith('#/supervisor'), history)).toBeUndefined();
    expect(history.replaceState).not.toHaveBeenCalled();
  });

  it('keeps the token in the given storage', () => {
    const storage = new Map<string, string>();
    const adapter = { getItem: (key: string) => storage.get(key) ?? null, setItem: (key: string, value: string) => storage.set(key, value), removeItem: (key: string) => storage.delete(key) };
    saveToken(adapter, 'abc');
    expect(storage.get(TOKEN_KEY)).toBe('abc');
    expect(loadToken(adapter)).toBe('abc');
    saveToken(adapter, undefined);
    expect(loadToken(adapter)).toBeUndefined();
  });
});
