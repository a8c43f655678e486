/**
 * @module testkit/ports
 * Loopback ports for tests that need a peer which is not there (a relay, a server that refuses).
 */
import { createServer, type AddressInfo } from 'node:net';

/** A 127.0.0.1 port nothing listens on: one the kernel handed out, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
