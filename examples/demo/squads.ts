/**
 * How the demo's agents are organised: squads of workers, each squad with one reviewer that its
 * workers ask over A2A. Fifty agents make 5 squads of 9 workers and a reviewer; fewer than ten
 * make one squad. There is one issue per agent, dealt round-robin to the workers, so a few workers
 * get two. Everything here is derived from the agent count alone, so both worker processes agree.
 */
export interface Squad {
  readonly index: number;
  /** The reviewer's agent name, its A2A path (`/a2a/<reviewer>`). */
  readonly reviewer: string;
  readonly workers: readonly number[];
}

export interface Fleet {
  readonly squads: readonly Squad[];
  readonly workers: number;
  /** Issue indexes (into seedIssues) per worker. */
  readonly assignments: readonly (readonly number[])[];
}

export const workerName = (worker: number): string => `worker-${worker}`;
export const reviewerName = (squad: number): string => `reviewer-${squad}`;
export const workerMailbox = (worker: number): string => `${workerName(worker)}@agents.shop.test`;

export function fleetLayout(agents: number): Fleet {
  const count = agents >= 10 ? Math.round(agents / 10) : 1;
  const workers = agents - count;
  const squads = Array.from({ length: count }, (_, index) => ({
    index,
    reviewer: reviewerName(index),
    workers: [...Array(workers).keys()].filter((w) => w % count === index),
  }));
  const assignments = Array.from({ length: workers }, (_, w) =>
    [...Array(agents).keys()].filter((issue) => issue % workers === w),
  );
  return { squads, workers, assignments };
}

/** The squad a worker belongs to. */
export const squadOf = (fleet: Fleet, worker: number): Squad => {
  const squad = fleet.squads[worker % fleet.squads.length];
  if (!squad) throw new Error(`no squad for worker ${worker}`);
  return squad;
};
