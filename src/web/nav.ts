/**
 * @module web/nav
 * The dashboard's main navigation, in the order an operator scans it: what needs them first; and
 * the topics whose events may change the needs-you badge's count.
 */
import type { NavItem } from './layout.ts';

export const NAV: readonly NavItem[] = [
  { href: '/ui', label: 'Needs you' },
  { href: '/ui/fleet', label: 'Fleet' },
  { href: '/ui/runs', label: 'Runs' },
  { href: '/ui/tree', label: 'Tree' },
  { href: '/ui/approvals', label: 'Approvals' },
  { href: '/ui/mq', label: 'Merge queue' },
  { href: '/ui/costs', label: 'Costs' },
  { href: '/ui/reliability', label: 'Reliability' },
  { href: '/ui/audit', label: 'Audit' },
  { href: '/ui/layers', label: 'Layers' },
];

/**
 * Events that may change what needs you: approvals, budget pauses, escalations (supervisors, stalls),
 * merge-queue changes and runs (parked, stalled). Every page's stream carries them for the badge.
 */
export const NEEDS_YOU_TOPICS = 'approval:*,budget:*,escalation:*,mq:*,run:*';
