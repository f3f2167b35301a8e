import '@testing-library/jest-dom/vitest';

// jsdom lacks a few browser APIs that bits-ui calls (the command palette's list
// measures itself and scrolls the selected item into view). Stand-ins that do nothing.
if (!('ResizeObserver' in globalThis)) {
  globalThis.ResizeObserver = class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  };
}
if (!Element.prototype.scrollIntoView) {
  Element.prototype.scrollIntoView = function scrollIntoView(): void {};
}

// jsdom lays nothing out, so every element has no client rects, which tabbable (what
// bits-ui's focus trap asks for the first and last control) reads as "not displayed".
// One empty rect for an element that is displayed, none for one under display: none.
Element.prototype.getClientRects = function getClientRects(this: Element): DOMRectList {
  let displayed = this.isConnected;
  for (let el: Element | null = this; displayed && el; el = el.parentElement) {
    if (getComputedStyle(el).display === 'none') displayed = false;
  }
  const rects: DOMRect[] = displayed ? [new DOMRect(0, 0, 0, 0)] : [];
  return Object.assign(rects, { item: (i: number) => rects[i] ?? null }) as unknown as DOMRectList;
};
