// The invariants of the reliability report on SQLite and PostgreSQL, over rows shaped as the
// billing, mail and merge-queue layers write them (their real migrations): each holds on clean
// rows, and each breach is counted — a hard budget period spent past its funding (a soft one is
// reported apart), a mail sent twice with one Message-ID, a move of main whose check failed — for
// its tenant only. A store where those layers were never opened reports them unchecked. (Here in
// test/, not beside the orchestration code: it opens three other layers' migrations.)
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Store } from '../src/kernel/index.ts';
import { mailMigrations, MAIL_LAYER } from '../src/identity/mail/migrations.ts';
import { mergeQueueMigrations, MERGEQUEUE_LAYER } from '../src/mergequeue/migrations.ts';
import { billingMigrations, BILLING_LAYER } from '../src/provisioning/billing/migrations.ts';
import { onEveryStore } from '../src/testkit/stores.ts';
import { ensureLayers } from '../src/orchestration/fleet-report.ts';
import { invariants, type AuditChainCheck } from '../src/orchestration/reliability/invariants.ts';

const chain: AuditChainCheck = { checked: true, holds: true, entries: 3, headHash: 'h' };

type Budget = { id: string; tenant: string; mode: string; funded: number; spent: number };

async function budget(store: Store, { id, tenant, mode, funded, spent }: Budget) {
  await store.run(
    `INSERT INTO bill_budgets (id, tenant_id, scope, subject, period, currency, limit_micros, mode, thresholds, created_at, updated_at)
     VALUES (?, ?, 'agent', ?, 'total', 'USD', ?, ?, '[]', 0, 0)`,
    [id, tenant, id, funded, mode],
  );
  await store.run(
    `INSERT INTO bill_accounts (id, tenant_id, kind, currency, flags, debits_posted, debits_pending, credits_posted, created_at)
     VALUES (?, ?, 'budget', 'USD', 'none', ?, ?, ?, 0)`,
    [`acc_${id}`, tenant, spent - 10, 10, funded],
  );
  await store.run(
    `INSERT INTO bill_budget_periods (budget_id, period_key, account_id, funded) VALUES (?, 'total', ?, ?)`,
    [id, `acc_${id}`, funded],
  );
}

async function mail(store: Store, id: string, tenant: string, messageId: string) {
  await store.run(
    `INSERT INTO mail_messages (id, tenant, mailbox_id, direction, status, message_id, thread_id, refs, subject,
       from_addr, to_addrs, cc_addrs, sent_at, received_at, text_body, size, authenticated)
     VALUES (?, ?, 'mbx_1', 'out', 'sent', ?, 'thr_1', '[]', 's', 'a@x.test', '[]', '[]', 5, 5, '', 0, 1)`,
    [id, tenant, messageId],
  );
}

async function advance(store: Store, tenant: string, version: number, outcome: string) {
  const check = `chk_${version}`;
  await store.run(
    `INSERT INTO mq_checks (tenant_id, id, queue_id, purpose, tree, version, commit_sha, outcome, started_at)
     VALUES (?, ?, 'q', 'batch', 't', ?, ?, ?, 0)`,
    [tenant, check, version, `c${version}`, outcome],
  );
  await store.run(
    `INSERT INTO mq_advances (tenant_id, queue_id, version, commit_sha, check_id, fence, at) VALUES (?, 'q', ?, ?, ?, 0, 0)`,
    [tenant, version, `c${version}`, check],
  );
}

onEveryStore('reliability invariants', (db) => {
  it('says unchecked where a layer was never opened, then counts each breach for its tenant', async (t) => {
    const store = await db().open();
    t.after(() => store.close());
    await ensureLayers(store); // the orchestration tables a runtime always has
    const before = await invariants(store, 't1', undefined, chain);
    assert.equal(before.budget.checked, false);
    assert.equal(before.duplicatedSideEffects.checked, false);
    assert.equal(before.mainGreen.checked, false);
    assert.equal(before.allHold, true);

    await store.migrate(BILLING_LAYER, billingMigrations);
    await store.migrate(MAIL_LAYER, mailMigrations);
    await store.migrate(MERGEQUEUE_LAYER, mergeQueueMigrations);
    await budget(store, { id: 'b1', tenant: 't1', mode: 'hard', funded: 1_000, spent: 1_000 }); // spent + held exactly at the limit
    await budget(store, { id: 'b2', tenant: 't1', mode: 'soft', funded: 1_000, spent: 1_200 });
    await mail(store, 'm1', 't1', '<1@x.test>');
    await mail(store, 'm2', 't1', '<2@x.test>');
    await advance(store, 't1', 1, 'pass');
    const clean = await invariants(store, 't1', undefined, chain);
    assert.deepEqual(clean.budget, { checked: true, holds: true, periods: 2, exceeded: 0, softOver: 1 });
    assert.deepEqual(clean.duplicatedSideEffects, {
      checked: true,
      holds: true,
      checkedMails: 2,
      duplicates: 0,
    });
    assert.deepEqual(clean.mainGreen, { checked: true, holds: true, merges: 1, notGreen: 0 });
    assert.equal(clean.allHold, true);

    await budget(store, { id: 'b3', tenant: 't1', mode: 'hard', funded: 1_000, spent: 1_001 });
    await mail(store, 'm3', 't1', '<1@x.test>');
    await advance(store, 't1', 2, 'fail');
    await budget(store, { id: 'b4', tenant: 't2', mode: 'hard', funded: 1, spent: 15 }); // another tenant's breach is not ours
    const broken = await invariants(store, 't1', undefined, chain);
    assert.deepEqual(broken.budget, { checked: true, holds: false, periods: 3, exceeded: 1, softOver: 1 });
    assert.deepEqual(broken.duplicatedSideEffects, {
      checked: true,
      holds: false,
      checkedMails: 3,
      duplicates: 1,
    });
    assert.deepEqual(broken.mainGreen, { checked: true, holds: false, merges: 2, notGreen: 1 });
    assert.equal(broken.allHold, false);
    assert.equal((await invariants(store, 't1', 10, chain)).duplicatedSideEffects.checkedMails, 0, 'window');
  });
});
