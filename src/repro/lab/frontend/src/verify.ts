/**
 * Verify and record from Lab: a job on the server (a fresh kernel, the saved file),
 * its progress and verdict in a banner above the notebook, a marker on each cell.
 * Results live in the DOM for the session: nothing is written to the notebook.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { cellBar, existingBar, IVerdict } from './cellbar';
import {
  cancelJob,
  IJob,
  IRecordResult,
  IVerifyResult,
  JobAction,
  startJob,
  waitForJob
} from './jobs';
import { notebookResult, SummaryPart, summaryLines, verdictOf } from './verdicts';

const UNSAVED =
  'The notebook has unsaved changes: the saved file is what gets verified.';

/** The banner above a notebook: what a verify or record is doing, then its verdict. */
class Banner extends Widget {
  constructor() {
    super();
    this.addClass('repro-Banner');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'repro verify');
    this._body = document.createElement('div');
    this._body.className = 'repro-Banner-body';
    this._body.setAttribute('aria-live', 'polite');
    this._cancel = this._button('Cancel', 'repro-Banner-cancel');
    this._close = this._button('×', 'repro-Banner-close');
    this._close.setAttribute('aria-label', 'Close the verify result');
    this._close.title = 'Close the verify result';
    this.node.append(this._body, this._cancel, this._close);
  }

  onCancel: (() => void) | null = null;
  onClose: (() => void) | null = null;

  /** Show *lines* (pieces of text and links to cells); *running*: offer Cancel. */
  display(lines: SummaryPart[][], running: boolean, status = 'running'): void {
    this._body.replaceChildren(...lines.map(parts => this._line(parts)));
    this._cancel.hidden = !running;
    this._close.hidden = running;
    this.node.dataset.status = status;
    requestAnimationFrame(() => this._fitToContent());
  }

  /**
   * The panel above the notebook lays its children out at their CSS min-height:
   * make that the height of what the banner now says, and ask for a new layout.
   */
  private _fitToContent(): void {
    if (this.isDisposed) {
      return;
    }
    const style = getComputedStyle(this.node);
    const edges = ['paddingTop', 'paddingBottom', 'borderTopWidth', 'borderBottomWidth']
      .map(name => parseFloat(style[name as 'paddingTop']) || 0)
      .reduce((a, b) => a + b, 0);
    const buttons = Math.max(this._cancel.offsetHeight, this._close.offsetHeight);
    const height = Math.ceil(Math.max(this._body.scrollHeight, buttons) + edges);
    if (this.node.style.minHeight !== `${height}px`) {
      this.node.style.minHeight = `${height}px`;
      this.parent?.fit();
    }
  }

  /** Called with a cell index when a link to a cell is clicked. */
  onCellLink: ((index: number) => void) | null = null;

  private _line(parts: SummaryPart[]): HTMLElement {
    const line = document.createElement('div');
    line.className = 'repro-Banner-line';
    for (const part of parts) {
      if (typeof part === 'string') {
        line.append(part);
        continue;
      }
      const link = document.createElement('a');
      link.href = '#';
      link.className = 'repro-Banner-link';
      link.textContent = part.text;
      link.addEventListener('click', event => {
        event.preventDefault();
        this.onCellLink?.(part.cell);
      });
      line.append(link);
    }
    return line;
  }

  private _button(label: string, className: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `jp-Button jp-mod-styled jp-mod-reject ${className}`;
    button.textContent = label;
    button.addEventListener('click', () =>
      className.endsWith('cancel') ? this.onCancel?.() : this.onClose?.()
    );
    return button;
  }

  private _body: HTMLElement;
  private _cancel: HTMLButtonElement;
  private _close: HTMLButtonElement;
}

export class NotebookVerifier {
  constructor(
    readonly panel: NotebookPanel,
    private readonly settings: ServerConnection.ISettings
  ) {}

  get running(): boolean {
    return this._job !== null;
  }

  /** Verify the saved notebook in a fresh kernel; show progress, then the verdicts. */
  async verify(): Promise<void> {
    if (this.running) {
      return;
    }
    const unsaved = !!this.panel.context.model.dirty;
    this._clearMarkers();
    const head = unsaved ? [[UNSAVED]] : [];
    const job = await this._run('verify', [...head, ['Verifying the saved file…']], progress =>
      [...head, [progress]]
    );
    if (!job) {
      return;
    }
    const result = notebookResult(job.result);
    if (job.state !== 'done' || !result) {
      this._end([...head, [this._ended(job, 'Verify')]], 'failed');
      return;
    }
    this._mark(result);
    const lines = summaryLines(result);
    if (unsaved) {
      lines.splice(1, 0, ['Verified the saved file; the notebook has unsaved changes.']);
    }
    this._end(lines, result.status);
  }

  /** Record the saved notebook's outputs and records, then reload it from disk. */
  async record(): Promise<void> {
    if (this.running) {
      return;
    }
    const context = this.panel.context;
    if (context.model.dirty) {
      const answer = await showDialog({
        title: 'Record the notebook',
        body: 'The notebook has unsaved changes. Record runs the saved file, then reloads it from disk: save first?',
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save and record' })]
      });
      if (!answer.button.accept) {
        return;
      }
      await context.save();
    }
    this._clearMarkers();
    const job = await this._run('record', [['Recording the saved file…']], progress => [[progress]]);
    if (!job) {
      return;
    }
    const result = job.result as IRecordResult | null;
    if (job.state !== 'done' || !result) {
      this._end([[this._ended(job, 'Record')]], 'failed');
      return;
    }
    const lines: SummaryPart[][] = [[`repro record: ${result.message}`]];
    if (result.written && context.model.dirty) {
      lines.push(['The notebook has unsaved changes, so it was not reloaded: File > Reload Notebook from Disk shows the recorded file.']);
    } else if (result.written) {
      await context.revert();
    }
    this._end(lines, result.written ? 'recorded' : 'failed');
  }

  /** Start a job and poll it to its end; null when it could not start (the banner says why). */
  private async _run(
    action: JobAction,
    starting: SummaryPart[][],
    during: (progress: string) => SummaryPart[][]
  ): Promise<IJob | null> {
    const banner = this._showBanner();
    banner.display(starting, true);
    let job: IJob;
    try {
      job = await startJob(this.settings, action, this.panel.context.localPath);
      this._job = job;
      job = await waitForJob(this.settings, job.id, running => {
        const text = progressText(action, running);
        banner.display(during(text), true);
        this._markRunning(running.progress?.cell ?? null);
      });
    } catch (error) {
      this._job = null;
      this._markRunning(null);
      this._end([[`repro ${action}: ${(error as Error).message ?? error}`]], 'failed');
      return null;
    }
    this._job = null;
    this._markRunning(null);
    return job;
  }

  private _ended(job: IJob, what: string): string {
    if (job.state === 'cancelled') {
      return `${what} cancelled: its kernel was stopped.`;
    }
    return `${what} failed: ${job.message ?? 'the server gave no reason'}`;
  }

  private _showBanner(): Banner {
    if (!this._banner || this._banner.isDisposed) {
      const banner = (this._banner = new Banner());
      banner.onCancel = () => void this._cancel();
      banner.onClose = () => this._dismiss();
      banner.onCellLink = index => void this._scrollTo(index);
      this.panel.contentHeader.addWidget(banner);
    }
    return this._banner;
  }

  private _end(lines: SummaryPart[][], status: string): void {
    this._showBanner().display(lines, false, status);
  }

  private async _cancel(): Promise<void> {
    const job = this._job;
    if (job) {
      this._showBanner().display([['Cancelling: stopping the kernel…']], false);
      await cancelJob(this.settings, job.id).catch(() => undefined);
    }
  }

  private _dismiss(): void {
    this._banner?.dispose();
    this._banner = null;
    this._clearMarkers();
  }

  private _cellAt(index: number, cellId?: string | null): Cell | null {
    const widgets = this.panel.content.widgets;
    if (cellId) {
      const byId = widgets.find(cell => cell.model.id === cellId);
      if (byId) {
        return byId;
      }
    }
    return widgets[index] ?? null;
  }

  private _mark(result: IVerifyResult): void {
    for (const item of result.cells) {
      const cell = this._cellAt(item.index, item.cell_id);
      if (cell) {
        this._setVerdict(cell, verdictOf(item));
      }
    }
  }

  private _markRunning(index: number | null): void {
    if (this._runningCell) {
      existingBar(this._runningCell)?.setVerdict(null);
      this._marked.delete(this._runningCell);
    }
    this._runningCell = index === null ? null : this._cellAt(index);
    if (this._runningCell) {
      this._setVerdict(this._runningCell, {
        kind: 'running',
        text: '… running',
        label: 'repro verify: running this cell',
        details: null
      });
    }
  }

  private _setVerdict(cell: Cell, verdict: IVerdict): void {
    const bar = cellBar(cell);
    if (!bar) {
      return;
    }
    bar.onVerdictClick = shown => void showReport(shown);
    bar.setVerdict(verdict);
    this._marked.add(cell);
  }

  private _clearMarkers(): void {
    this._marked.forEach(cell => existingBar(cell)?.setVerdict(null));
    this._marked.clear();
  }

  private async _scrollTo(index: number): Promise<void> {
    const notebook = this.panel.content;
    const cell = notebook.widgets[index];
    if (cell) {
      notebook.activeCellIndex = index;
      await notebook.scrollToCell(cell, 'start');
    }
  }

  private _job: IJob | null = null;
  private _banner: Banner | null = null;
  private _marked = new Set<Cell>();
  private _runningCell: Cell | null = null;
}

function progressText(action: JobAction, job: IJob): string {
  const verb = action === 'verify' ? 'Verifying' : 'Recording';
  const p = job.progress;
  if (!p || typeof p.cell !== 'number') {
    return `${verb} the saved file: starting a kernel…`;
  }
  const run = p.run > 0 ? `run ${p.run + 1}, ` : ''; // runs count from 0
  return `${verb} the saved file: ${run}cell ${p.cell + 1} of ${p.cells}`;
}

/** The report's lines for one cell, in a dialog. */
async function showReport(verdict: IVerdict): Promise<void> {
  const pre = document.createElement('pre');
  pre.className = 'repro-DialogText';
  pre.textContent = (verdict.details ?? []).join('\n');
  await showDialog({
    title: verdict.label,
    body: new Widget({ node: pre }),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}
