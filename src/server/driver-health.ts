/**
 * @module server/driver-health
 * Registers the runtime's drivers on `kernel.health` (kernel/health.ts), each read from state its
 * layer keeps: the browser pool and sandboxes (compute), the SMTP relay and the caller tenant's
 * outbox (identity), the tenant's MCP servers (tools) and the model buckets (models). The
 * "needs you" list (`fleet.problems`), `fleet.drivers` and the dashboard's layer pages read them.
 */
import type { BrowserSessions, SandboxManager } from '../compute/index.ts';
import type { Mail } from '../identity/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { capacityHealth, type ModelService } from '../models/index.ts';
import { mcpHealth, type ToolsLayer } from '../tools/index.ts';

export interface DriverHealthSources {
  readonly browsers: BrowserSessions;
  readonly sandboxes: SandboxManager;
  readonly mail: Mail;
  readonly tools: ToolsLayer;
  readonly models: ModelService;
}

export function registerDriverHealth(kernel: Kernel, sources: DriverHealthSources): void {
  const { browsers, sandboxes, mail, tools, models } = sources;
  kernel.health.register({ id: 'browser.pool', layer: 'compute' }, () => [browsers.health()]);
  kernel.health.register({ id: 'sandbox.drivers', layer: 'compute' }, () => [sandboxes.health.reading()]);
  const relay = mail.relayHealth; // no relay configured: outbound mail is refused, nothing to watch
  if (relay)
    kernel.health.register({ id: 'mail.relay', layer: 'identity' }, async (tenantId) => [
      await relay.read(mail.store, tenantId),
    ]);
  kernel.health.register({ id: 'mcp', layer: 'tools' }, (tenantId) =>
    mcpHealth(tools.gateway.status(tenantId)),
  );
  kernel.health.register({ id: 'model', layer: 'models' }, () =>
    capacityHealth(models.capacity.snapshot(), kernel.clock.now()),
  );
}
