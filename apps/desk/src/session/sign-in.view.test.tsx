import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiFailure } from '../api/api.client';
import { fakeToken } from '../testing/fake-socket';
import { SignIn } from './sign-in.view';

describe('sign-in', () => {
  it('checks the token with the gateway before signing in', async () => {
    const verify = vi.fn(async () => undefined);
    const onSignedIn = vi.fn();
    const token = fakeToken({ sub: 'a2' });
    render(<SignIn onSignedIn={onSignedIn} verify={verify} />);
    expect(screen.getByTestId('signin')).toBeTruthy();
    await userEvent.click(screen.getByRole('textbox', { name: 'Token' }));
    await userEvent.paste(token);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(verify).toHaveBeenCalledWith(token);
    expect(onSignedIn).toHaveBeenCalledWith(expect.objectContaining({ token, agentId: 'a2', role: 'agent' }));
  });

  it('says why a token is not accepted', async () => {
    const verify = vi.fn(async () => Promise.reject(new ApiFailure(401, 'token_expired', 'token expired at …')));
    const onSignedIn = vi.fn();
    render(<SignIn onSignedIn={onSignedIn} verify={verify} />);
    await userEvent.type(screen.getByRole('textbox', { name: 'Token' }), 'nonsense');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByRole('alert').textContent).toMatch(/not a JWT/);
    expect(verify).not.toHaveBeenCalled();

    await userEvent.clear(screen.getByRole('textbox', { name: 'Token' }));
    await userEvent.click(screen.getByRole('textbox', { name: 'Token' }));
    await userEvent.paste(fakeToken());
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/token_expired/);
    expect(onSignedIn).not.toHaveBeenCalled();
  });
});
