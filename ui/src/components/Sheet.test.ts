import { describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

import SheetHarness from '../test/SheetHarness.svelte';
import { expectNoAxeViolations } from '../test/axe';

describe('Sheet', () => {
  it('opens and closes with its open prop; closed, it is hidden and out of the accessibility tree', async () => {
    const { rerender } = render(SheetHarness, { open: false });
    // Mounted but hidden: a closed <dialog> is display: none.
    expect(screen.getByTestId('thing-sheet')).not.toBeVisible();
    expect(screen.queryByRole('dialog')).toBeNull();

    await rerender({ open: true });
    const sheet = screen.getByRole('dialog', { name: 'New thing' });
    expect(sheet).toBe(screen.getByTestId('thing-sheet'));
    expect(sheet).toBeVisible();
    expect(sheet).toHaveAttribute('aria-modal', 'true');

    await rerender({ open: false });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('thing-sheet')).not.toBeVisible();
  });

  it('is labelled by its title, a level-2 heading', async () => {
    render(SheetHarness, { open: true });
    const sheet = screen.getByRole('dialog');
    const heading = within(sheet).getByRole('heading', { level: 2, name: 'New thing' });
    expect(sheet).toHaveAttribute('aria-labelledby', heading.id);
    expect(heading.id).not.toBe('');
    await expectNoAxeViolations(document.body);
  });

  it('moves the focus to the first field on open and back to the opener on close', async () => {
    render(SheetHarness);
    const opener = screen.getByTestId('opener');
    await userEvent.click(opener);
    const sheet = screen.getByRole('dialog', { name: 'New thing' });
    // The first field, not the Close button that comes before it.
    await vi.waitFor(() => expect(within(sheet).getByTestId('thing-name')).toHaveFocus());

    await userEvent.click(within(sheet).getByTestId('thing-sheet-close'));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('state')).toHaveTextContent('closed');
    await vi.waitFor(() => expect(opener).toHaveFocus());
  });

  it('keeps the focus inside while open: Tab from the last control goes to the first', async () => {
    render(SheetHarness);
    await userEvent.click(screen.getByTestId('opener'));
    const sheet = screen.getByRole('dialog');
    await vi.waitFor(() => expect(within(sheet).getByTestId('thing-name')).toHaveFocus());
    within(sheet).getByTestId('thing-done').focus();
    await userEvent.tab();
    expect(within(sheet).getByTestId('thing-sheet-close')).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(within(sheet).getByTestId('thing-done')).toHaveFocus();
  });

  it('Esc closes it and the focus goes back to the opener', async () => {
    render(SheetHarness);
    const opener = screen.getByTestId('opener');
    await userEvent.click(opener);
    await vi.waitFor(() => expect(screen.getByTestId('thing-name')).toHaveFocus());
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('state')).toHaveTextContent('closed');
    await vi.waitFor(() => expect(opener).toHaveFocus());
  });

  it('Esc is taken by the sheet: a window listener sees it prevented', async () => {
    const seen: boolean[] = [];
    const listener = (event: KeyboardEvent) => seen.push(event.defaultPrevented);
    window.addEventListener('keydown', listener);
    try {
      render(SheetHarness, { open: true });
      await vi.waitFor(() => expect(screen.getByTestId('thing-name')).toHaveFocus());
      await userEvent.keyboard('{Escape}');
      expect(seen).toEqual([true]);
    } finally {
      window.removeEventListener('keydown', listener);
    }
  });

  it('a click on the backdrop closes it; a click inside does not', async () => {
    render(SheetHarness, { open: true });
    const sheet = screen.getByRole('dialog');
    await userEvent.click(within(sheet).getByTestId('thing-name'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(screen.getByRole('dialog')).toBe(sheet);

    const backdrop = document.querySelector<HTMLElement>('[data-dialog-overlay]');
    expect(backdrop).not.toBeNull();
    // jsdom lays nothing out: the press is placed away from the sheet's (empty) box.
    await userEvent.pointer({ keys: '[MouseLeft]', target: backdrop!, coords: { clientX: 40, clientY: 40 } });
    await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.getByTestId('state')).toHaveTextContent('closed');
  });

  it('keeps what was typed when closed and opened again', async () => {
    render(SheetHarness);
    await userEvent.click(screen.getByTestId('opener'));
    await vi.waitFor(() => expect(screen.getByTestId('thing-name')).toHaveFocus());
    await userEvent.keyboard('Widget');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();

    await userEvent.click(screen.getByTestId('opener'));
    const sheet = screen.getByRole('dialog');
    expect(within(sheet).getByTestId('thing-name')).toHaveValue('Widget');
  });
});
