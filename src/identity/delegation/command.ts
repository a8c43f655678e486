/**
 * @module identity/delegation/command
 * UCAN 1.0 commands: `/`-separated, lower-case paths (`/crypto/sign`). A delegation of a command
 * covers that command and every command below it, by whole segments only: `/crypto` covers
 * `/crypto/sign` but not `/cryptocurrency`, and `/` covers everything.
 */
import { StrataError } from '../../kernel/index.ts';

const COMMAND = /^\/(?:[a-z0-9_-]+(?:\/[a-z0-9_-]+)*)?$/;
const MAX_COMMAND_CHARS = 200;

/** Whether `command` is a well-formed command (lower-case, leading `/`, no trailing `/`, no `//`). */
export function isCommand(command: unknown): command is string {
  return typeof command === 'string' && command.length <= MAX_COMMAND_CHARS && COMMAND.test(command);
}

/** Validates a command; E_DELEGATION_MALFORMED otherwise. */
export function parseCommand(command: unknown): string {
  if (isCommand(command)) return command;
  throw new StrataError('E_DELEGATION_MALFORMED', 'a command is a lower-case path such as /crypto/sign', {
    field: 'cmd',
  });
}

/** Whether a delegation of `parent` covers `child`: equal, `/`, or a prefix ending at a segment. */
export function commandCovers(parent: string, child: string): boolean {
  return parent === '/' || child === parent || child.startsWith(`${parent}/`);
}
