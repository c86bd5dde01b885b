/**
 * What the kernel reports about one executed cell (src/repro/payload.py is the
 * schema), read defensively: an absent or malformed key shows less, never breaks.
 */

export type SeedMode = 'off' | 'per-cell' | 'once';

/** The fields of a repro payload the frontend shows. */
export interface ICellRecord {
  cellId: string | null;
  seed: number | null;
  seedMode: SeedMode;
  /** The `%seed N` in force when the cell ended, or null (off, or a kernel that does not say). */
  sessionSeed: number | null;
  /** Whether the kernel says the session seed (`session_seed`, null included). */
  saysSessionSeed: boolean;
  error: boolean;
  /** Backends the cell drew from (their state changed), sorted. */
  drew: string[];
  unseededGenerators: number;
  /** Cell magics that applied, e.g. `deterministic`, `repeat`. */
  magics: string[];
  /** Traced variables (name -> digest), or null while tracing is off. */
  state: Record<string, string> | null;
}

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wholeNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

/** The repro payload among an execute reply's payloads, or null. */
export function findPayload(payloads: unknown): Json | null {
  if (!Array.isArray(payloads)) {
    return null;
  }
  for (const item of payloads) {
    if (isObject(item) && item.source === 'repro' && item.version === 1) {
      return item;
    }
  }
  return null;
}

/** Parse a version-1 repro payload; null when it is not one. */
export function parseRecord(payload: Json | null): ICellRecord | null {
  if (!payload) {
    return null;
  }
  const mode = payload.seed_mode;
  const seedMode: SeedMode =
    mode === 'per-cell' || mode === 'once' ? mode : 'off';
  const drew: string[] = [];
  if (isObject(payload.backends)) {
    for (const [name, state] of Object.entries(payload.backends)) {
      if (isObject(state) && state.consumed === true) {
        drew.push(name);
      }
    }
  }
  drew.sort();
  const magics = Array.isArray(payload.magics)
    ? payload.magics.filter((m): m is string => typeof m === 'string')
    : [];
  let state: Record<string, string> | null = null;
  if (isObject(payload.state)) {
    state = {};
    for (const [name, digest] of Object.entries(payload.state)) {
      if (typeof digest === 'string') {
        state[name] = digest;
      }
    }
  }
  const unseeded = wholeNumber(payload.unseeded_generators);
  return {
    cellId: typeof payload.cell_id === 'string' ? payload.cell_id : null,
    seed: wholeNumber(payload.seed),
    seedMode,
    sessionSeed: wholeNumber(payload.session_seed),
    saysSessionSeed: 'session_seed' in payload,
    error: payload.error === true,
    drew,
    unseededGenerators: unseeded !== null && unseeded > 0 ? unseeded : 0,
    magics,
    state
  };
}

/** The cell drew from a generator repro did not seed: seeding is off. */
export function isUnseededDraw(record: ICellRecord): boolean {
  return record.seedMode === 'off' && record.drew.length > 0;
}

/** What a badge says: a short text to show and a sentence for aria-label and title. */
export interface IBadgeText {
  text: string;
  label: string;
  warning: boolean;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * The badge of one cell's record. *changed*: the traced variables whose digest
 * differs from the one the kernel reported before (null: tracing off).
 */
export function describeRecord(
  record: ICellRecord,
  changed: string[] | null
): IBadgeText {
  const words: string[] = [];
  const short: string[] = [];
  const warning = isUnseededDraw(record);
  if (warning) {
    words.push(`drew ${record.drew.join(', ')} without a seed (seeding is off)`);
    short.push(`unseeded: ${record.drew.join(', ')}`);
  } else {
    if (record.seed !== null) {
      // A `%%deterministic --seed N` cell ran under its own seed, not one derived from %seed.
      const how = record.magics.length ? '%seed N in force' : 'from %seed N';
      const from =
        record.sessionSeed !== null
          ? ` (${how.replace('N', String(record.sessionSeed))})`
          : '';
      words.push(`seeded ${record.seed}${from}`);
      short.push(`seed ${record.seed}`);
    } else if (record.seedMode === 'once') {
      words.push('seeded once, earlier in the session');
      short.push('seeded once');
    } else {
      words.push('not seeded');
      short.push('not seeded');
    }
    if (record.drew.length) {
      words.push(`drew ${record.drew.join(', ')}`);
      short.push(record.drew.join(', '));
    }
  }
  if (record.unseededGenerators) {
    const made = plural(record.unseededGenerators, 'generator');
    words.push(`${made} made without a seed, seeded by repro`);
    short.push(`+${made}`);
  }
  for (const magic of record.magics) {
    words.push(`%%${magic}`);
    short.push(`%%${magic}`);
  }
  if (changed !== null) {
    words.push(changed.length ? `changed ${changed.join(', ')}` : 'changed no traced variable');
    if (changed.length) {
      short.push(`changed ${changed.join(', ')}`);
    }
  }
  if (record.error) {
    words.push('the cell raised');
  }
  return {
    text: short.join(' · '),
    label: `repro: ${words.join('; ')}`,
    warning
  };
}

/**
 * The status bar's text for the session's seed state after *record*'s cell (null:
 * repro not loaded). `seed_mode` is the mode the cell started in and `session_seed`
 * the seed in force when it ended, so a cell that ran `%seed --off` reads as off.
 */
export function describeSession(record: ICellRecord | null): string {
  if (record === null) {
    return 'repro: not loaded';
  }
  const off = record.saysSessionSeed
    ? record.sessionSeed === null
    : record.seedMode === 'off';
  if (off) {
    return 'repro: seeding off';
  }
  // A cell that switched seeding on started with it off: `%seed N` re-seeds per cell.
  const mode = record.seedMode === 'off' ? 'per-cell' : record.seedMode;
  const seed = record.sessionSeed !== null ? `%seed ${record.sessionSeed}` : 'seeded';
  return `repro: ${seed} ${mode}`;
}
