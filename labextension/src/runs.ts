import { Nbtrack } from './tokens';

/**
 * The tag holding a child run's parent (MLflow's name).
 */
export const PARENT_TAG = Nbtrack.Tags.PARENT_RUN_ID;

/**
 * The tags of the staleness verdict (see the lineage routes).
 */
export const STALE_TAG = Nbtrack.Tags.STALE;
export const STALE_REASON_TAG = Nbtrack.Tags.STALE_REASON;

/**
 * A run placed in the nested list: its depth and how many children it has.
 */
export interface INestedRun {
  run: Nbtrack.IRunSummary;
  depth: number;
  children: number;
}

/**
 * Put each child run right under its parent, in the given order of the
 * top-level runs (children oldest first, as a search runs them). Children
 * whose parent is not listed stay at the top level; the children of a
 * parent in `collapsed` are left out.
 */
export function nestRuns(
  sorted: Nbtrack.IRunSummary[],
  collapsed: ReadonlySet<string> = new Set()
): INestedRun[] {
  const ids = new Set(sorted.map(r => r.run_id));
  const children = new Map<string, Nbtrack.IRunSummary[]>();
  for (const run of sorted) {
    const parent = run.tags[PARENT_TAG];
    if (parent && parent !== run.run_id && ids.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(run);
      children.set(parent, list);
    }
  }
  for (const list of children.values()) {
    list.sort((a, b) => a.start_time - b.start_time);
  }
  const out: INestedRun[] = [];
  const seen = new Set<string>();
  const emit = (run: Nbtrack.IRunSummary, depth: number) => {
    if (seen.has(run.run_id)) {
      return;
    }
    seen.add(run.run_id);
    const kids = children.get(run.run_id) ?? [];
    out.push({ run, depth, children: kids.length });
    if (collapsed.has(run.run_id)) {
      const stack = [...kids];
      while (stack.length) {
        const kid = stack.pop()!;
        seen.add(kid.run_id);
        stack.push(...(children.get(kid.run_id) ?? []));
      }
      return;
    }
    for (const kid of kids) {
      emit(kid, depth + 1);
    }
  };
  for (const run of sorted) {
    const parent = run.tags[PARENT_TAG];
    if (!(parent && ids.has(parent))) {
      emit(run, 0);
    }
  }
  for (const run of sorted) {
    emit(run, 0); // cycles: show them anyway
  }
  return out;
}

/**
 * Why a run is stale, or `null` when it is not.
 */
export function staleReason(tags: Record<string, string>): string | null {
  if (tags[STALE_TAG] !== 'true') {
    return null;
  }
  return tags[STALE_REASON_TAG] || 'a cell this run used has changed since';
}
