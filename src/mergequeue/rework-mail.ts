/**
 * @module mergequeue/rework-mail
 * Rework notices for persons by email: a person author known by an email address is mailed from
 * the tenant's sender mailbox (the runtime uses the mailbox of the tenant's escalation route, the
 * one its other notifications leave from) through the configured relay. An author that is not an
 * address, a tenant with no sender mailbox, or no relay: the notice fails with the reason, which
 * the rework run records; the task stays on the board either way.
 */
import { StrataError } from '../kernel/index.ts';
import { validateAddress, type Mail } from '../identity/index.ts';
import type { ReworkNotice, ReworkNotifier } from './rework-workflow.ts';

/** `senderOf(tenant)`: the id or address of the tenant's mailbox notices are sent from. */
export function mailReworkNotifier(
  mail: Mail,
  senderOf: (tenantId: string) => Promise<string | undefined>,
): ReworkNotifier {
  return async (notice: ReworkNotice) => {
    const to = validateAddress(notice.author, 'author');
    const sender = await senderOf(notice.tenantId);
    if (sender === undefined) {
      throw new StrataError(
        'E_CONFIG',
        'the tenant has no mailbox to send rework notices from: set its escalation route to mail, with a mailbox',
        { key: 'escalations.route.mailbox' },
      );
    }
    const mailbox = await mail.getMailbox(notice.tenantId, sender);
    await mail.send({
      tenant: notice.tenantId,
      mailboxId: mailbox.id,
      to: [to],
      subject: `Rework needed: ${notice.branch} in merge queue ${notice.queue}`,
      text: reworkText(notice),
    });
  };
}

function reworkText(notice: ReworkNotice): string {
  return [
    `Your change ${notice.branch} (${notice.headCommit.slice(0, 12)}, entry ${notice.entry}) left merge queue ${notice.queue} for rework:`,
    `  ${notice.reason}`,
    ...(notice.files.length > 0 ? ['Conflicting files:', ...notice.files.map((f) => `  ${f}`)] : []),
    '',
    `Task ${notice.taskId} is on the fleet task board. Rebase the branch on the queue's target and submit it again.`,
  ].join('\n');
}
