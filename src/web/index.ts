/** @module web — the operator dashboard served at `/ui`; see `dashboard.ts`. */
export { CONTENT_SECURITY_POLICY, dashboardRoutes, type DashboardOptions } from './dashboard.ts';
export { READ_ONLY_SYSCALLS, SESSION_COOKIE } from './session.ts';
