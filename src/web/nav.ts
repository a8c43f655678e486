/**
 * @module web/nav
 * The dashboard's main navigation, in the order an operator scans it: what needs them first.
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
