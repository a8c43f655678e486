/**
 * Email decisions: a mail extension (`mail.use`) that reads inbound replies to approval requests.
 * A reply counts when its subject carries `[approval apr_…]`, it arrived at the approval's mailbox,
 * its DMARC check passed (`message.authenticated`: the From address is not forged), and the first
 * word of its own text (quotes and signature cut by `replyText`) is approve(d) or reject(ed). It
 * is then decided through the kernel as principal `mail:<from address>`, so the approver check,
 * the first-decision-wins rule and the audit log apply exactly as for an API decision; a sender
 * who is not a `mail:` approver is refused there (E_CAPABILITY_DENIED) and nothing changes.
 *
 * Runs after the message is committed (`afterDelivery`): a crash between the two loses the
 * decision, not the mail (the reply stays in the mailbox; the approver can reply again).
 */
import type { Kernel, Logger, Principal } from '../../kernel/index.ts';
import { replyText, type Mail, type MailExtension, type MailMessage } from '../../identity/index.ts';
import { APPROVAL_SUBJECT_ID } from './approval-row.ts';
import type { Approvals } from './approvals.ts';

const WORDS: Readonly<Record<string, 'approve' | 'reject'>> = {
  approve: 'approve',
  approved: 'approve',
  reject: 'reject',
  rejected: 'reject',
};

/** The decision a reply's own text starts with, and the rest as its reason. */
export function decisionOfReply(
  text: string,
): { decision: 'approve' | 'reject'; reason: string } | undefined {
  const own = replyText(text).text.trim();
  const match = /^([A-Za-z]+)[\s.!,:;\-–—]*([\s\S]*)$/.exec(own);
  const decision = match ? WORDS[(match[1] ?? '').toLowerCase()] : undefined;
  return decision && match ? { decision, reason: (match[2] ?? '').trim().slice(0, 4000) } : undefined;
}

const mailPrincipal = (tenantId: string, address: string, approvalId: string): Principal => ({
  tenantId,
  id: `mail:${address.toLowerCase()}`,
  kind: 'agent',
  grants: [{ syscall: 'approvals.decide', resource: `approvals/${approvalId}` }],
});

export function approvalReplies(deps: {
  kernel: Kernel;
  mail: Mail;
  approvals: Approvals;
  logger: Logger;
}): MailExtension {
  const consider = async (message: MailMessage): Promise<void> => {
    const id = APPROVAL_SUBJECT_ID.exec(message.subject)?.[1];
    if (message.direction !== 'in' || id === undefined) return;
    const approval = await deps.approvals.get(message.tenant, id).catch(() => undefined);
    if (!approval?.mailbox) return;
    const mailbox = await deps.mail.getMailbox(message.tenant, approval.mailbox);
    if (mailbox.id !== message.mailboxId) return;
    const log = deps.logger.child({ approval: id, message: message.id, from: message.from.address });
    if (!message.authenticated) {
      log.warn('approval reply ignored: DMARC did not pass for its sender');
      return;
    }
    const reply = decisionOfReply(message.text);
    if (!reply) {
      log.info('approval reply ignored: it does not start with approve or reject');
      return;
    }
    await deps.kernel
      .call(
        'approvals.decide',
        { id, decision: reply.decision, reason: reply.reason || `email reply ${message.messageId}` },
        { principal: mailPrincipal(message.tenant, message.from.address, id) },
      )
      .catch((error: unknown) => log.warn({ err: error }, 'approval reply refused'));
  };
  return {
    name: 'approval-replies',
    afterDelivery: async (messages) => {
      for (const message of messages) {
        await consider(message).catch((error: unknown) =>
          deps.logger.warn({ err: error, message: message.id }, 'reading an approval reply failed'),
        );
      }
    },
  };
}
