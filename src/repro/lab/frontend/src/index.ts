/**
 * repro in JupyterLab and Notebook 7: per-cell badges from the kernel's records,
 * the session's seed in the status bar, Verify and Record through the server
 * extension (src/repro/lab/handlers.py).
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { IDisposable } from '@lumino/disposable';

import { SeedStatus } from './status';
import { NotebookVerifier } from './verify';
import { NotebookWatcher } from './watcher';

const COMMANDS = {
  verify: 'repro:verify',
  record: 'repro:record'
};

/** Adds the Verify button to each notebook's toolbar. */
class VerifyButton implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly verifierOf: (panel: NotebookPanel) => NotebookVerifier) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'repro-VerifyButton',
      label: 'Verify',
      tooltip: 'repro: verify the saved notebook in a fresh kernel',
      onClick: () => void this.verifierOf(panel).verify()
    });
    panel.toolbar.insertItem(10, 'repro-verify', button);
    return button;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'repro-nb:plugin',
  description: 'repro: per-cell seed badges, the seed state in the status bar, verify and record.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
    const watchers = new WeakMap<NotebookPanel, NotebookWatcher>();
    const verifiers = new WeakMap<NotebookPanel, NotebookVerifier>();
    const settings = app.serviceManager.serverSettings;
    const watcherOf = (panel: NotebookPanel): NotebookWatcher => {
      let watcher = watchers.get(panel);
      if (!watcher) {
        watcher = new NotebookWatcher(panel);
        watchers.set(panel, watcher);
      }
      return watcher;
    };
    const verifierOf = (panel: NotebookPanel): NotebookVerifier => {
      let verifier = verifiers.get(panel);
      if (!verifier) {
        verifier = new NotebookVerifier(panel, settings);
        verifiers.set(panel, verifier);
      }
      return verifier;
    };
    tracker.forEach(watcherOf);
    tracker.widgetAdded.connect((_, panel) => void watcherOf(panel));

    const current = (): NotebookPanel | null => tracker.currentWidget;
    app.commands.addCommand(COMMANDS.verify, {
      label: 'Verify Notebook (repro)',
      caption: 'Re-execute the saved notebook in a fresh kernel and compare it with its stored outputs',
      isEnabled: () => !!current() && !verifierOf(current()!).running,
      execute: () => {
        const panel = current();
        return panel ? verifierOf(panel).verify() : undefined;
      }
    });
    app.commands.addCommand(COMMANDS.record, {
      label: 'Record Notebook (repro)',
      caption: 'Execute the saved notebook in a fresh kernel and store its outputs and records',
      isEnabled: () => !!current() && !verifierOf(current()!).running,
      execute: () => {
        const panel = current();
        return panel ? verifierOf(panel).record() : undefined;
      }
    });
    for (const command of [COMMANDS.verify, COMMANDS.record]) {
      palette?.addItem({ command, category: 'Notebook Operations' });
    }
    app.contextMenu.addItem({ command: COMMANDS.verify, selector: '.jp-Notebook', rank: 30 });
    app.contextMenu.addItem({ command: COMMANDS.record, selector: '.jp-Notebook', rank: 31 });
    app.docRegistry.addWidgetExtension('Notebook', new VerifyButton(verifierOf));

    if (statusBar) {
      const item = new SeedStatus();
      statusBar.registerStatusItem('repro-nb:seed-status', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => item.active,
        activeStateChanged: item.activeChanged
      });
      const follow = () => {
        const panel = current();
        item.follow(panel ? watcherOf(panel) : null);
      };
      tracker.currentChanged.connect(follow);
      follow();
    }
  }
};

export default plugin;
