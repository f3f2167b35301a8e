import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import StoreConnect from './StoreConnect.svelte';
import { ANCHORED, commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const URL = 'postgres://keywright@db.example.com:5432/keywright?sslmode=verify-full';

describe('StoreConnect', () => {
  beforeEach(resetPlatform);

  it('connects with the URL and the password, then clears the password', async () => {
    p.openStore.mockResolvedValue({ path: URL, storeId: 's', keychainService: 'keywright/s', audit: ANCHORED });
    const onopened = vi.fn();
    const { container } = render(StoreConnect, { onopened });
    await userEvent.type(screen.getByTestId('store-connect-url'), `  ${URL} `);
    await userEvent.type(screen.getByTestId('store-connect-password'), 's3cret');
    await userEvent.click(screen.getByTestId('store-connect-submit'));
    expect(p.openStore).toHaveBeenCalledWith(URL, 's3cret');
    expect(onopened).toHaveBeenCalledOnce();
    expect(screen.getByTestId('store-connect-password')).toHaveValue('');
    await expectNoAxeViolations(container);
  });

  it('uses the saved password when the field is empty', async () => {
    p.openStore.mockResolvedValue({ path: URL, storeId: 's', keychainService: 'keywright/s', audit: ANCHORED });
    render(StoreConnect, { onopened: vi.fn() });
    await userEvent.type(screen.getByTestId('store-connect-url'), URL);
    await userEvent.click(screen.getByTestId('store-connect-submit'));
    expect(p.openStore).toHaveBeenCalledWith(URL, null);
  });

  it('refuses what is not a PostgreSQL URL without calling the backend, at the field', async () => {
    render(StoreConnect, { onopened: vi.fn() });
    await userEvent.type(screen.getByTestId('store-connect-url'), '/home/ada/store.db');
    await userEvent.click(screen.getByTestId('store-connect-submit'));
    expect(screen.getByTestId('store-connect-error')).toHaveTextContent('starts with postgres://');
    expect(screen.getByTestId('store-connect-url')).toHaveAttribute('aria-invalid', 'true');
    expect(p.openStore).not.toHaveBeenCalled();
  });

  it('says why a connection failed, keeps the URL and forgets the password', async () => {
    p.openStore.mockRejectedValue(
      commandError('STORE', 'cannot connect to the PostgreSQL store at postgres://keywright@db/k: password authentication failed'),
    );
    const onopened = vi.fn();
    const { container } = render(StoreConnect, { onopened });
    await userEvent.type(screen.getByTestId('store-connect-url'), URL);
    await userEvent.type(screen.getByTestId('store-connect-password'), 'wrong');
    await userEvent.click(screen.getByTestId('store-connect-submit'));
    expect(await screen.findByTestId('store-connect-error')).toHaveTextContent('password authentication failed');
    expect(screen.getByTestId('store-connect-url')).toHaveValue(URL);
    expect(screen.getByTestId('store-connect-password')).toHaveValue('');
    expect(onopened).not.toHaveBeenCalled();
    await expectNoAxeViolations(container);
  });
});
