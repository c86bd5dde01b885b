/**
 * The words of a verify result, for the cell markers and the notebook summary:
 * pure functions of `repro-nb verify --format json`'s data.
 */

import { IVerdict } from './cellbar';
import { IVerifyCell, IVerifyDiff, IVerifyResult } from './jobs';

/** The marker of one cell of a verify result. */
export function verdictOf(cell: IVerifyCell): IVerdict {
  let kind: string;
  let text: string;
  if (cell.status === 'same') {
    kind = 'reproduced';
    text = '✓ reproduced';
  } else if (cell.status === 'differs') {
    kind = cell.cause === 'nondeterministic' ? 'nondeterministic' : 'differs';
    text = kind === 'differs' ? '✗ differs' : '≈ nondeterministic';
  } else if (cell.status === 'failed') {
    kind = 'failed';
    text = '✗ failed';
  } else if (cell.reason === 'not executed') {
    kind = 'not run';
    text = 'not run';
  } else {
    kind = 'skipped';
    text = 'skipped';
  }
  const why = kind === 'skipped' && cell.reason ? ` (${cell.reason})` : '';
  const lines = reportLines(cell);
  return {
    kind,
    text: text + why,
    label: `repro verify: ${kind}${why}`,
    details: lines.length ? lines : null
  };
}

/** The report's lines for a cell: the server's own, else made from its diffs and hint. */
export function reportLines(cell: IVerifyCell): string[] {
  if (Array.isArray(cell.report) && cell.report.length) {
    return cell.report.filter(line => typeof line === 'string');
  }
  if (cell.status !== 'differs' && cell.status !== 'failed') {
    return [];
  }
  const lines = [`cell ${cell.index + 1}: ${cell.status}${cell.cause ? ` [${cell.cause}]` : ''}`];
  if (cell.reason) {
    lines.push(`  ${cell.reason}`);
  }
  for (const diff of cell.diffs ?? []) {
    lines.push(...diffLines(diff));
  }
  if (cell.hint) {
    lines.push(`  hint: ${cell.hint}`);
  }
  return lines;
}

function diffLines(diff: IVerifyDiff): string[] {
  const head = `  ${diff.kind ?? 'output'}${diff.key ? ` ${diff.key}` : ''}:`;
  const body = typeof diff.diff === 'string' ? diff.diff.split('\n').map(l => `    ${l}`) : [];
  return [head, ...body];
}

/** A piece of the summary: plain text, or a link to a notebook cell (by index). */
export type SummaryPart = string | { text: string; cell: number };

/** One line per fact of a verify result, cells as links. */
export function summaryLines(result: IVerifyResult): SummaryPart[][] {
  const lines: SummaryPart[][] = [];
  const compared =
    typeof result.compared === 'number' && typeof result.code_cells === 'number'
      ? `: ${result.compared} of ${result.code_cells} code cells compared`
      : '';
  lines.push([`repro verify: ${result.status}${compared}`]);
  if (typeof result.first_difference === 'number') {
    const cell = result.first_difference;
    lines.push(['First difference: ', { text: `cell ${cell + 1}`, cell }]);
  }
  const rng = result.rng_divergence;
  if (rng && typeof rng.cell === 'number') {
    lines.push([
      'First RNG divergence: ',
      { text: `cell ${rng.cell + 1}`, cell: rng.cell },
      ` (${rng.backend})`
    ]);
  }
  const state = result.state_divergence;
  if (state && typeof state.cell === 'number') {
    lines.push([
      'First state divergence: ',
      { text: `cell ${state.cell + 1}`, cell: state.cell },
      ` (${(state.names ?? []).join(', ')})`
    ]);
  }
  if (result.failure?.message) {
    lines.push([`Failure: ${result.failure.message}`]);
  }
  for (const note of result.notes ?? []) {
    lines.push([`Note: ${note}`]);
  }
  return lines;
}

/** The one notebook of a verify job's result (accepting the CLI's whole document too). */
export function notebookResult(result: unknown): IVerifyResult | null {
  if (typeof result !== 'object' || result === null) {
    return null;
  }
  const data = result as { notebooks?: unknown; cells?: unknown };
  if (Array.isArray(data.notebooks)) {
    return notebookResult(data.notebooks[0]);
  }
  return Array.isArray(data.cells) ? (data as IVerifyResult) : null;
}
