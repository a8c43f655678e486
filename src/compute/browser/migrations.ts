/**
 * Schema of browser sessions: one row per session (tenant, allow-list, state), its action log
 * (one row per action, in order), and screenshots stored once by SHA-256 of the PNG, so an action
 * log survives the session, the server and the node, and identical frames are kept once.
 */
import type { Migration } from '../../kernel/index.ts';

export const BROWSER_LAYER = 'browser';

const blob = (dialect: 'sqlite' | 'postgres'): string => (dialect === 'sqlite' ? 'BLOB' : 'BYTEA');

const v1 = (dialect: 'sqlite' | 'postgres'): string => `
  CREATE TABLE browser_sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    allow_urls TEXT NOT NULL,
    profile TEXT,
    principal TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    close_reason TEXT,
    actions INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX browser_sessions_tenant ON browser_sessions (tenant_id, created_at);
  CREATE TABLE browser_actions (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    ok INTEGER NOT NULL,
    url TEXT,
    title TEXT,
    error TEXT,
    screenshot TEXT,
    duration_ms BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  CREATE TABLE browser_screenshots (
    sha256 TEXT PRIMARY KEY,
    png ${blob(dialect)} NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  )
`;

export const browserMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, actions, screenshots',
    up: { sqlite: v1('sqlite'), postgres: v1('postgres') },
  },
];
