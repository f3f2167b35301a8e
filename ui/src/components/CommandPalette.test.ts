import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';

vi.mock('../platform', async () => (await import('../test/platform-mock')).createPlatformMock());

import App from '../App.svelte';
import PaletteHarness from '../test/PaletteHarness.svelte';
import { key, license, p, page, product, resetPlatform } from '../test/fixtures';
import { expectNoAxeViolations } from '../test/axe';

const ada = { id: 'cus-1', name: 'Ada Hopper', email: 'ada@example.com', company: null, createdAt: '2025-01-01T00:00:00Z', licenses: 2, activeLicenses: 1 };

/** The options' text, one line each. */
function shown(): string[] {
  return screen.queryAllByTestId('palette-item').map((i) => i.textContent?.replace(/\s+/g, ' ').trim() ?? '');
}

function selectedOption(): HTMLElement {
  const input = screen.getByTestId('palette-input');
  const id = input.getAttribute('aria-activedescendant');
  expect(id).toBeTruthy();
  const option = document.getElementById(id!);
  expect(option).not.toBeNull();
  expect(option).toHaveAttribute('aria-selected', 'true');
  return option!;
}

async function openPalette(onchoose = vi.fn()) {
  const result = render(PaletteHarness, { onchoose });
  await userEvent.click(screen.getByTestId('opener'));
  const palette = screen.getByRole('dialog', { name: 'Find or run' });
  await vi.waitFor(() => expect(within(palette).getByRole('combobox')).toHaveFocus());
  return { ...result, palette, onchoose };
}

describe('command palette', () => {
  beforeEach(resetPlatform);

  it('Ctrl+K opens it over the app with the input focused; Esc closes it and the focus goes back', async () => {
    p.listSigningKeys.mockResolvedValue([key()]);
    render(App);
    await screen.findByRole('heading', { level: 1, name: 'Dashboard' });
    expect(screen.queryByRole('dialog')).toBeNull();
    const nav = screen.getByTestId('nav-audit');
    nav.focus();

    await userEvent.keyboard('{Control>}k{/Control}');
    const palette = screen.getByRole('dialog', { name: 'Find or run' });
    expect(palette).toHaveAttribute('aria-modal', 'true');
    await vi.waitFor(() => expect(within(palette).getByRole('combobox')).toHaveFocus());

    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    await vi.waitFor(() => expect(nav).toHaveFocus());
    // Esc was the palette's: the screen behind is still the dashboard.
    expect(screen.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeInTheDocument();
  });

  it('opens on the actions and screens, in two labelled groups, the first selected', async () => {
    const { palette } = await openPalette();
    const listbox = within(palette).getByRole('listbox', { name: 'Results' });
    const groups = within(listbox).getAllByRole('group');
    expect(groups.map((g) => g.getAttribute('aria-label'))).toEqual(['Actions', 'Screens']);
    expect(within(groups[0]).getAllByRole('option')).toHaveLength(4);
    expect(within(groups[1]).getAllByRole('option')).toHaveLength(12);
    expect(within(groups[1]).getAllByRole('option')[0]).toHaveAccessibleName('Dashboard');
    const input = within(palette).getByRole('combobox');
    expect(input).toHaveAttribute('aria-controls', expect.any(String));
    expect(listbox.contains(document.getElementById(input.getAttribute('aria-controls')!))).toBe(true);
    await vi.waitFor(() => expect(selectedOption()).toHaveTextContent('Issue a license'));
    await expectNoAxeViolations(document.body);
  });

  it('typing filters the actions and screens; nothing matching says so', async () => {
    const { palette } = await openPalette();
    const input = within(palette).getByRole('combobox');
    await userEvent.type(input, 'back');
    expect(shown()).toEqual(['Actions Back up the store', 'Screens Backup']);
    await vi.waitFor(() => expect(selectedOption()).toHaveTextContent('Back up the store'));

    await userEvent.clear(input);
    await userEvent.type(input, 'zzz');
    expect(shown()).toEqual([]);
    expect(within(palette).getByText('Nothing matches.')).toBeInTheDocument();
    expect(input).not.toHaveAttribute('aria-activedescendant');
    await expectNoAxeViolations(palette);
  });

  it('finds customers, licenses and products in the store, in that order, the first selected', async () => {
    p.listCustomers.mockResolvedValue([ada]);
    p.searchLicenses.mockResolvedValue(page([license({ id: 'lic-9', customerName: 'Ada Hopper', productName: 'Adamant', policyName: 'Yearly' })]));
    p.listProducts.mockResolvedValue([product({ id: 'prod-2', name: 'Adamant', code: 'adamant' }), product()]);
    const { palette } = await openPalette();
    await userEvent.type(within(palette).getByRole('combobox'), 'ada');

    // (Typing slowly may search for "a" and "ad" first.)
    await vi.waitFor(() => expect(p.listCustomers).toHaveBeenLastCalledWith({ text: 'ada', limit: 5 }));
    expect(p.searchLicenses).toHaveBeenLastCalledWith(expect.objectContaining({ text: 'ada', limit: 5 }));
    await vi.waitFor(() => expect(within(palette).getAllByTestId('palette-item')[0]).toHaveAttribute('data-group', 'Customers'));
    expect(shown()).toEqual([
      'Customers Ada Hopper ada@example.com · 2 licenses',
      'Licenses Ada Hopper · Adamant — Yearly active',
      'Products Adamant adamant',
    ]);
    expect(within(palette).getAllByRole('group').map((g) => g.getAttribute('aria-label'))).toEqual(['Customers', 'Licenses', 'Products']);
    await vi.waitFor(() => expect(within(palette).getByRole('combobox')).toHaveAttribute('aria-activedescendant', 'palette-c-cus-1'));
    await expectNoAxeViolations(document.body);
  });

  it('↓ and ↑ move the selection and wrap around; Enter runs the selected item and closes', async () => {
    const { palette, onchoose } = await openPalette();
    await userEvent.type(within(palette).getByRole('combobox'), 'back');
    await vi.waitFor(() => expect(selectedOption()).toHaveTextContent('Back up the store'));

    await userEvent.keyboard('{ArrowDown}');
    expect(selectedOption()).toHaveTextContent('Backup');
    expect(selectedOption()).toHaveAttribute('data-group', 'Screens');
    await userEvent.keyboard('{ArrowDown}');
    expect(selectedOption()).toHaveTextContent('Back up the store');
    await userEvent.keyboard('{ArrowUp}');
    expect(selectedOption()).toHaveAttribute('id', 'palette-s-backup');
    expect(onchoose).not.toHaveBeenCalled();

    await userEvent.keyboard('{Enter}');
    expect(onchoose).toHaveBeenCalledTimes(1);
    expect(onchoose).toHaveBeenCalledWith({ kind: 'screen', screen: 'backup' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('state')).toHaveTextContent('closed');
  });

  it('a click on an item runs it', async () => {
    const { palette, onchoose } = await openPalette();
    await userEvent.click(within(palette).getByRole('option', { name: 'Issue a license N' }));
    expect(onchoose).toHaveBeenCalledWith({ kind: 'new-license' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('Esc closes it without running anything; it opens again empty', async () => {
    const { palette, onchoose } = await openPalette();
    await userEvent.type(within(palette).getByRole('combobox'), 'back');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('state')).toHaveTextContent('closed');
    expect(onchoose).not.toHaveBeenCalled();

    await userEvent.click(screen.getByTestId('opener'));
    const again = screen.getByRole('dialog', { name: 'Find or run' });
    expect(within(again).getByRole('combobox')).toHaveValue('');
    expect(within(again).getAllByRole('option')).toHaveLength(16);
  });
});
