/**
 * The status-bar item: the current notebook's seed state (`repro: %seed 42 per-cell`,
 * `repro: seeding off`, `repro: not loaded`), hidden for a kernel that never ran
 * repro. Clicking it shows what `%seed` says, asked silently: no history, no
 * execution count, no output in the notebook, and no re-seeding (IPython fires no
 * cell events for a silent request).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { describeSession } from './record';
import { NotebookWatcher } from './watcher';

export class SeedStatus extends Widget {
  constructor() {
    super({ node: document.createElement('button') });
    this.addClass('repro-SeedStatus');
    this.addClass('jp-StatusBar-TextItem');
    (this.node as HTMLButtonElement).type = 'button';
    this.node.addEventListener('click', () => void this._showState());
    this._refresh();
  }

  /** Follow *watcher*'s notebook (null: no notebook is current). */
  follow(watcher: NotebookWatcher | null): void {
    this._watcher?.changed.disconnect(this._refresh, this);
    this._watcher = watcher;
    watcher?.changed.connect(this._refresh, this);
    this._refresh();
  }

  /** Whether there is something to show (the status bar hides the item otherwise). */
  get active(): boolean {
    return !!this._watcher?.seen;
  }

  /** Emitted when the item may have shown or hidden. */
  readonly activeChanged = new Signal<this, void>(this);

  private _refresh(): void {
    const text = this.active ? describeSession(this._watcher!.session) : '';
    this.node.textContent = text;
    const label = text ? `${text} (click for the full seed state)` : '';
    this.node.title = label;
    this.node.setAttribute('aria-label', label);
    this.activeChanged.emit();
  }

  private async _showState(): Promise<void> {
    const kernel = this._watcher?.kernel;
    let body: string;
    if (!kernel || this._watcher?.session === null) {
      body = 'repro is not loaded in this kernel: run %load_ext repro.';
    } else {
      body = await askSeedState(kernel);
    }
    const pre = document.createElement('pre');
    pre.className = 'repro-DialogText';
    pre.textContent = body;
    await showDialog({
      title: 'repro: the seed state',
      body: new Widget({ node: pre }),
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
  }

  private _watcher: NotebookWatcher | null = null;
}

/** What `%seed` prints in *kernel*, run silently (or why it could not say). */
export async function askSeedState(kernel: Kernel.IKernelConnection): Promise<string> {
  const future = kernel.requestExecute({
    code: '%seed',
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  const parts: string[] = [];
  future.onIOPub = msg => {
    if (KernelMessage.isStreamMsg(msg)) {
      parts.push(msg.content.text);
    } else if (KernelMessage.isErrorMsg(msg)) {
      parts.push(`${msg.content.ename}: ${msg.content.evalue}`);
    }
  };
  try {
    await future.done;
  } catch (error) {
    return `The kernel did not answer: ${error}`;
  }
  return parts.join('').trim() || '(the kernel printed nothing)';
}
