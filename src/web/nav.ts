/**
 * @module web/nav
 * The dashboard's main navigation, in the order an operator scans it: what needs them first.
 */
import type { NavItem } from './layout.ts';

export const NAV: readonly NavItem[] = [
  { href: '/ui', label: 'Needs you' },
  { href: '/ui/runs', label: 'Runs' },
  { href: '/ui/approvals', label: 'Approvals' },
  { href: '/ui/reliability', label: 'Reliability' },
  { href: '/ui/audit', label: 'Audit' },
  { href: '/ui/layers', label: 'Layers' },
];
