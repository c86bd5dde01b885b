/**
 * The server extension's job API (README, "REST API"): start a verify or a record
 * of a saved notebook, poll it, cancel it. Requests go through Jupyter's
 * ServerConnection, which adds the token and the XSRF header.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type JobAction = 'verify' | 'record';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface IProgress {
  run: number;
  cell: number | null;
  cells: number;
}

export interface IJob {
  id: string;
  state: JobState;
  progress: IProgress | null;
  result: unknown;
  message: string | null;
}

/** A diff of one output, as `repro-nb verify --format json` writes it. */
export interface IVerifyDiff {
  kind?: string;
  key?: string;
  diff?: string | null;
}

export interface IVerifyCell {
  index: number;
  status: 'same' | 'differs' | 'skipped' | 'failed';
  execution_count?: number | null;
  reason?: string | null;
  cause?: string | null;
  hint?: string | null;
  cell_id?: string | null;
  report?: string[];
  diffs?: IVerifyDiff[];
}

/** One notebook of `repro-nb verify --format json`. */
export interface IVerifyResult {
  path?: string;
  status: 'reproduced' | 'differs' | 'failed' | 'unverified';
  code_cells?: number;
  compared?: number;
  failure?: { message?: string; cell?: number | null } | null;
  first_difference?: number | null;
  rng_divergence?: { cell: number; backend: string } | null;
  state_divergence?: { cell: number; names: string[] } | null;
  notes?: string[];
  cells: IVerifyCell[];
}

export interface IRecordResult {
  written: boolean;
  message: string;
}

async function request<T>(
  settings: ServerConnection.ISettings,
  path: string,
  init: RequestInit
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'repro', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message =
      (data && typeof data.message === 'string' && data.message) ||
      `the server answered ${response.status} ${response.statusText}`;
    throw new ServerConnection.ResponseError(response, message);
  }
  return data as T;
}

/** Start *action* on the saved notebook at *path* (relative to the server's root). */
export function startJob(
  settings: ServerConnection.ISettings,
  action: JobAction,
  path: string
): Promise<IJob> {
  return request<IJob>(settings, 'jobs', {
    method: 'POST',
    body: JSON.stringify({ path, action, runs: 1 })
  });
}

export function getJob(settings: ServerConnection.ISettings, id: string): Promise<IJob> {
  return request<IJob>(settings, `jobs/${encodeURIComponent(id)}`, { method: 'GET' });
}

/** Cancel a job: the server stops its kernel. */
export function cancelJob(settings: ServerConnection.ISettings, id: string): Promise<unknown> {
  return request<unknown>(settings, `jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

const POLL_MS = 400;

/**
 * Poll job *id* until it ends, calling *onProgress* with each answer while it
 * runs; resolves to its last state.
 */
export async function waitForJob(
  settings: ServerConnection.ISettings,
  id: string,
  onProgress: (job: IJob) => void
): Promise<IJob> {
  for (;;) {
    const job = await getJob(settings, id);
    if (job.state !== 'running') {
      return job;
    }
    onProgress(job);
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
  }
}
