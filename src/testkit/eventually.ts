/**
 * @module testkit/eventually
 * Waiting in tests for something another process or a background task makes true.
 */

/** Polls `check` every 20 ms until it returns a truthy value or `ms` pass. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 20_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
