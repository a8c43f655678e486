/**
 * @module orchestration/approvals
 * Approvals (issue 12): `ctx.approve` as a durable promise — decided once, by an approver, over
 * the API, the CLI or an email reply (DMARC passing), or by its timeout — with signed decisions in
 * the audit log. {@link openFleetAlerts} wires approvals and escalations into a runtime.
 */
export { approve, type ApprovalDecision, type ApproveOptions } from './approve.ts';
export {
  approvalSchema,
  approvalSignal,
  type Approval,
  type ApprovalStatus,
  type OnTimeout,
} from './approval-row.ts';
export { Approvals, type ApprovalFilter, type DecideInput } from './approvals.ts';
export { isApprover, mailApprovers } from './approvers.ts';
export { approvalReplies, decisionOfReply } from './mail-replies.ts';
export { APPROVALS_LAYER, approvalMigrations } from './migrations.ts';
export { openFleetAlerts, type FleetAlerts, type FleetAlertsParts } from './open.ts';
export { canonicalBytes, verifyNodeSignature, type CanonicalDecision } from './signing.ts';
export { approvalSyscalls } from './syscalls.ts';
export { ApprovalWebhookDispatcher, type ApprovalWebhookDeliveryOptions } from './webhook-dispatcher.ts';
export { approvalWebhookSyscalls } from './webhook-syscalls.ts';
export {
  APPROVAL_EVENT_TYPES,
  ApprovalWebhooks,
  type ApprovalDelivery,
  type ApprovalEventType,
  type ApprovalWebhook,
} from './webhooks.ts';
