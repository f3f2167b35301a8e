import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import type { TableRows } from '../bindings';
import StoreCopy from './StoreCopy.svelte';
import { ANCHORED, commandError, p, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const URL = 'postgres://keywright@db.example.com/keywright';

function copied(to: string) {
  return {
    storeId: 'store-1',
    from: '/home/ada/keywright.db',
    to,
    tables: [
      { table: 'licenses', rows: 10000 },
      { table: 'audit_log', rows: 20002 },
    ],
    auditRows: 20002,
  };
}

describe('StoreCopy', () => {
  beforeEach(resetPlatform);

  it('copies to a new file chosen in the save dialog, shows progress, then opens the copy', async () => {
    p.saveDialog.mockResolvedValue('/data/copy.db');
    let finish: (value: ReturnType<typeof copied>) => void = () => {};
    p.copyStore.mockImplementation((_to: string, _pw: string | null, onProgress: (t: TableRows) => void) => {
      onProgress({ table: 'licenses', rows: 10000 });
      return new Promise((resolve) => (finish = resolve));
    });
    p.openStore.mockResolvedValue({ path: '/data/copy.db', storeId: 'store-1', keychainService: 'keywright/store-1', audit: ANCHORED });
    const onopened = vi.fn();
    const { container } = render(StoreCopy, { onopened });
    await userEvent.click(screen.getByTestId('store-copy-file'));
    expect(p.copyStore).toHaveBeenCalledWith('/data/copy.db', null, expect.any(Function));
    expect(await screen.findByTestId('store-copy-progress')).toHaveTextContent('1 table done, last licenses (10,000 rows)');
    finish(copied('/data/copy.db'));
    expect(await screen.findByTestId('store-copy-done')).toHaveTextContent(
      'Copied 30,002 rows in 2 tables to /data/copy.db; the audit log (20,002 rows) verifies on both sides.',
    );
    await expectNoAxeViolations(container);
    expect(onopened).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId('store-copy-open'));
    expect(p.openStore).toHaveBeenCalledWith('/data/copy.db', null);
    expect(onopened).toHaveBeenCalledOnce();
  });

  it('copies to PostgreSQL with a password that does not stay in the form', async () => {
    p.copyStore.mockResolvedValue(copied(URL));
    render(StoreCopy, { onopened: vi.fn() });
    await userEvent.click(screen.getByTestId('store-copy-kind-postgres'));
    await userEvent.type(screen.getByTestId('store-copy-url'), URL);
    await userEvent.type(screen.getByTestId('store-copy-password'), 's3cret');
    await userEvent.click(screen.getByTestId('store-copy-postgres'));
    expect(p.copyStore).toHaveBeenCalledWith(URL, 's3cret', expect.any(Function));
    expect(await screen.findByTestId('store-copy-done')).toHaveTextContent(URL);
    expect(screen.getByTestId('store-copy-password')).toHaveValue('');
  });

  it('says why a copy was refused and offers nothing to open', async () => {
    p.copyStore.mockRejectedValue(
      commandError('STORE_EXISTS', 'the target store already holds data; a copy goes into a new or empty store'),
    );
    const { container } = render(StoreCopy, { onopened: vi.fn() });
    await userEvent.click(screen.getByTestId('store-copy-kind-postgres'));
    await userEvent.type(screen.getByTestId('store-copy-url'), 'mysql://x');
    await userEvent.click(screen.getByTestId('store-copy-postgres'));
    expect(screen.getByTestId('store-copy-error')).toHaveTextContent('starts with postgres://');
    expect(p.copyStore).not.toHaveBeenCalled();
    await userEvent.clear(screen.getByTestId('store-copy-url'));
    await userEvent.type(screen.getByTestId('store-copy-url'), URL);
    await userEvent.click(screen.getByTestId('store-copy-postgres'));
    expect(await screen.findByTestId('store-copy-failure')).toHaveTextContent('already holds data');
    expect(screen.queryByTestId('store-copy-open')).toBeNull();
    await expectNoAxeViolations(container);
  });
});
