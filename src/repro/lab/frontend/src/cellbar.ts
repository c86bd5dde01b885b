/**
 * The line under a code cell's input where repro shows what it knows: the live
 * badge from the cell's last record and the verdict of the last verify. It lives
 * in the DOM only (a widget in the cell's layout): nothing reaches the cell model.
 */

import { Cell } from '@jupyterlab/cells';
import { PanelLayout, Widget } from '@lumino/widgets';

import { IBadgeText } from './record';

/** A verdict marker: a short text, its words for aria-label and title, a style. */
export interface IVerdict {
  kind: string;
  text: string;
  label: string;
  /** Shown when the marker is clicked (the report's lines for the cell); none: not clickable. */
  details: string[] | null;
}

/** The widget under one cell's input. */
export class CellBar extends Widget {
  constructor() {
    super();
    this.addClass('repro-CellBar');
    this._badge = document.createElement('span');
    this._badge.className = 'repro-Badge';
    this._badge.setAttribute('role', 'status');
    this._verdict = document.createElement('button');
    this._verdict.className = 'repro-Verdict';
    this._verdict.type = 'button';
    this._verdict.addEventListener('click', () => {
      if (this._verdictDetails && this.onVerdictClick) {
        this.onVerdictClick(this._verdictDetails);
      }
    });
    this.node.append(this._badge, this._verdict);
    this.setBadge(null);
    this.setVerdict(null);
  }

  /** Called with the report's lines when a clickable verdict is clicked. */
  onVerdictClick: ((details: IVerdict) => void) | null = null;

  setBadge(badge: IBadgeText | null): void {
    const node = this._badge;
    node.hidden = badge === null;
    node.classList.toggle('repro-mod-warning', !!badge?.warning);
    node.textContent = badge ? `${badge.warning ? '⚠ ' : ''}${badge.text}` : '';
    if (badge) {
      node.setAttribute('aria-label', badge.label);
      node.title = badge.label;
    } else {
      node.removeAttribute('aria-label');
      node.removeAttribute('title');
    }
    this._refresh();
  }

  setVerdict(verdict: IVerdict | null): void {
    const node = this._verdict;
    node.hidden = verdict === null;
    node.className = 'repro-Verdict';
    this._verdictDetails = verdict && verdict.details ? verdict : null;
    if (verdict) {
      node.classList.add(`repro-mod-${verdict.kind.replace(/[^a-z]+/g, '-')}`);
      node.classList.toggle('repro-mod-clickable', this._verdictDetails !== null);
      node.disabled = this._verdictDetails === null;
      node.textContent = verdict.text;
      node.setAttribute('aria-label', verdict.label);
      node.title = verdict.details ? `${verdict.label} (click for the report)` : verdict.label;
    } else {
      node.textContent = '';
      node.removeAttribute('aria-label');
      node.removeAttribute('title');
    }
    this._refresh();
  }

  private _refresh(): void {
    this.toggleClass('repro-mod-empty', this._badge.hidden && this._verdict.hidden);
  }

  private _badge: HTMLElement;
  private _verdict: HTMLButtonElement;
  private _verdictDetails: IVerdict | null = null;
}

const bars = new WeakMap<Cell, CellBar>();

/**
 * The bar of *cell*, made and placed under its input on first use; null while
 * the cell has no input area yet (a cell not rendered: call again once it is).
 */
export function cellBar(cell: Cell): CellBar | null {
  const existing = bars.get(cell);
  if (existing && !existing.isDisposed) {
    return existing;
  }
  const layout = cell.layout as PanelLayout | null;
  const inputWrapper = cell.inputArea?.parent;
  if (!layout || !inputWrapper || cell.isDisposed) {
    return null;
  }
  const bar = new CellBar();
  const index = layout.widgets.indexOf(inputWrapper);
  layout.insertWidget(index < 0 ? layout.widgets.length : index + 1, bar);
  bars.set(cell, bar);
  return bar;
}

/** The bar of *cell* if it has one already (nothing is made). */
export function existingBar(cell: Cell): CellBar | null {
  const bar = bars.get(cell);
  return bar && !bar.isDisposed ? bar : null;
}
