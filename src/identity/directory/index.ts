/**
 * @module strata/identity/directory
 * The local agent directory: A2A agents added from verified cards, searchable by skill, with the
 * outcome of the last calls made to them through `a2a.call`.
 * Any new export added here becomes public API.
 */
export {
  AgentDirectory,
  type DirectoryEntry,
  type DirectoryOptions,
  type DirectorySkill,
  type DirectoryTrust,
} from './directory.ts';
export { DIRECTORY_LAYER, directoryMigrations } from './migrations.ts';
export { directorySyscalls } from './syscalls.ts';
