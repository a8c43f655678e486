/** A principal in a tenant of its own, authenticated by a fresh API key holding `grants`. */
import type { Grant, Kernel, Principal } from '../kernel/index.ts';

export async function principalInNewTenant(
  kernel: Kernel,
  tenantName: string,
  grants: readonly Grant[],
): Promise<Principal> {
  const tenant = await kernel.principals.createTenant(tenantName);
  const { key } = await kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'agent',
    grants: [...grants],
  });
  return kernel.authenticate({ apiKey: key });
}
