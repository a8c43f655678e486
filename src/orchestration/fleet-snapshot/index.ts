/**
 * @module orchestration/fleet-snapshot
 * The fleet right now (`fleet.snapshot`): for `strata fleet top` and the dashboard's Fleet view.
 * Any new export added here becomes public API.
 */
export { fleetSnapshot } from './snapshot.ts';
export { fleetSnapshotSyscall } from './syscall.ts';
export { fleetSnapshotSchema, type FleetSnapshot } from './types.ts';
