/**
 * Per notebook: reads the repro record in each execute reply of the notebook's
 * kernel and shows it as the cell's badge. Records are matched to cells by the
 * cell id Lab sends in the execute request's metadata (`cellId`), which the
 * kernel echoes in the payload: Run All, re-runs and cells run out of order all
 * land on the right cell. A kernel without repro sends no record: nothing shown.
 */

import { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { cellBar, existingBar } from './cellbar';
import {
  describeRecord,
  findPayload,
  IBadgeText,
  ICellRecord,
  parseRecord
} from './record';

export class NotebookWatcher {
  constructor(readonly panel: NotebookPanel) {
    const context = panel.sessionContext;
    context.kernelChanged.connect((_, change) => {
      this._forgetKernel();
      this._listen(change.newValue);
    }, this);
    context.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting') {
        this._forgetKernel();
      }
    }, this);
    this._listen(context.session?.kernel ?? null);
    panel.content.modelChanged.connect(this._watchCells, this);
    this._watchCells();
    panel.disposed.connect(() => Signal.clearData(this));
  }

  /** Emitted when the session's seed state (what the status bar shows) may have changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Whether this notebook's kernel has sent a repro record since the notebook opened. */
  get seen(): boolean {
    return this._seen;
  }

  /** The latest record of the current kernel, or null while repro is not loaded in it. */
  get session(): ICellRecord | null {
    return this._session;
  }

  /** The kernel this notebook runs on, if any. */
  get kernel(): Kernel.IKernelConnection | null {
    return this.panel.sessionContext.session?.kernel ?? null;
  }

  private _listen(kernel: Kernel.IKernelConnection | null): void {
    this._kernel?.anyMessage.disconnect(this._onMessage, this);
    this._kernel = kernel;
    kernel?.anyMessage.connect(this._onMessage, this);
  }

  /** A new or restarted kernel: nothing of the old one's session holds. */
  private _forgetKernel(): void {
    this._pending.clear();
    this._digests.clear();
    if (this._seen && this._session !== null) {
      this._session = null;
      this._changed.emit();
    }
  }

  private _onMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const msg = args.msg;
    if (args.direction === 'send') {
      if (msg.header.msg_type === 'execute_request') {
        const cellId = (msg.metadata as { cellId?: unknown } | undefined)?.cellId;
        if (typeof cellId === 'string') {
          this._pending.set(msg.header.msg_id, cellId);
        }
      }
      return;
    }
    if (msg.header.msg_type !== 'execute_reply' || msg.channel !== 'shell') {
      return;
    }
    const parentId = (msg.parent_header as KernelMessage.IHeader).msg_id;
    const requested = this._pending.get(parentId);
    if (requested === undefined) {
      return; // not a cell of this notebook (a silent request of ours, another client's)
    }
    this._pending.delete(parentId);
    const content = (msg as KernelMessage.IExecuteReplyMsg).content;
    if (content.status !== 'ok' && content.status !== 'error') {
      return; // aborted: the cell did not run
    }
    const record = parseRecord(findPayload((content as { payload?: unknown }).payload));
    if (record === null) {
      if (this._seen && this._session !== null) {
        this._session = null; // repro was unloaded
        this._changed.emit();
      }
      return;
    }
    const cellId = record.cellId ?? requested;
    this._badges.set(cellId, describeRecord(record, this._changedNames(record)));
    this._render(cellId);
    this._seen = true;
    this._session = record;
    this._changed.emit();
  }

  /** The traced variables whose digest changed since the kernel last reported them. */
  private _changedNames(record: ICellRecord): string[] | null {
    if (record.state === null) {
      return null;
    }
    const names: string[] = [];
    for (const [name, digest] of Object.entries(record.state)) {
      if (this._digests.get(name) !== digest) {
        names.push(name);
      }
      this._digests.set(name, digest);
    }
    return names.sort();
  }

  private _watchCells(): void {
    const model = this.panel.content.model;
    if (model === this._model) {
      return;
    }
    this._model?.cells.changed.disconnect(this._onCellsChanged, this);
    this._model = model;
    model?.cells.changed.connect(this._onCellsChanged, this);
    this._badges.forEach((_, cellId) => this._render(cellId));
  }

  private _onCellsChanged(): void {
    // New widgets (a reload from disk, a cell moved, undo) get their badge back.
    this._badges.forEach((_, cellId) => this._render(cellId));
  }

  private _findCell(cellId: string): Cell | null {
    return this.panel.content.widgets.find(cell => cell.model.id === cellId) ?? null;
  }

  private _render(cellId: string): void {
    const cell = this._findCell(cellId);
    if (!cell || cell.model.type !== 'code') {
      return;
    }
    this._watchExecution(cell.model as ICodeCellModel);
    const badge = this._badges.get(cellId) ?? null;
    const bar = badge ? cellBar(cell) : existingBar(cell);
    if (bar) {
      bar.setBadge(badge);
    } else if (badge) {
      void cell.ready.then(() => {
        if (this._badges.get(cellId) === badge) {
          cellBar(cell)?.setBadge(badge);
        }
      });
    }
  }

  /** Clearing a cell's outputs (or running it again) takes its badge away with them. */
  private _watchExecution(model: ICodeCellModel): void {
    if (this._watched.has(model)) {
      return;
    }
    this._watched.add(model);
    model.stateChanged.connect((_, change) => {
      if (change.name === 'executionCount' && change.newValue === null) {
        this._badges.delete(model.id);
        this._render(model.id);
      }
    }, this);
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _model: NotebookPanel['content']['model'] = null;
  private _pending = new Map<string, string>(); // execute_request msg_id -> cell id
  private _badges = new Map<string, IBadgeText>(); // cell id -> its badge
  private _digests = new Map<string, string>(); // traced variable -> last digest seen
  private _watched = new WeakSet<ICodeCellModel>();
  private _seen = false;
  private _session: ICellRecord | null = null;
  private _changed = new Signal<this, void>(this);
}
