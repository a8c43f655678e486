/**
 * @module compute/drivers/bubblewrap/egress-proxy
 * The host side of a sandbox's network allow-list: an HTTP proxy listening on a unix socket that
 * is bind-mounted into the sandbox (which has no network of its own, only loopback). Inside, socat
 * bridges `127.0.0.1:3128` to the socket and `HTTP(S)_PROXY` points there. The proxy forwards a
 * `CONNECT host:port` tunnel, or an absolute-form `GET http://host:port/…`, only when `host:port`
 * is granted; anything else gets `403` with the refused destination named. This is the pattern of
 * Anthropic's sandbox runtime.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';

export const PROXY_PORT = 3128;
const MAX_HEAD = 64 * 1024;

export interface EgressDecision {
  readonly host: string;
  readonly port: number;
  readonly allowed: boolean;
}

/** Whether `host:port` matches an entry `host:port` or `host:*` (host compared case-insensitively). */
export function isAllowed(allow: readonly string[], host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((entry) => {
    const at = entry.lastIndexOf(':');
    const entryHost = entry
      .slice(0, at)
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    const entryPort = entry.slice(at + 1);
    return entryHost === h && (entryPort === '*' || Number(entryPort) === port);
  });
}

function parseTarget(value: string, defaultPort: number): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port > 0 && port <= 65_535)) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

function refuse(socket: Socket, status: string, why: string): void {
  const body = `strata egress proxy: ${why}\n`;
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class EgressProxy {
  readonly path: string;
  readonly #allow: readonly string[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #onDecision: ((decision: EgressDecision) => void) | undefined;

  private constructor(
    path: string,
    allow: readonly string[],
    onDecision?: (decision: EgressDecision) => void,
  ) {
    this.path = path;
    this.#allow = allow;
    this.#onDecision = onDecision;
    this.#server = createServer((socket) => this.#handle(socket));
  }

  static async start(options: {
    path: string;
    allow: readonly string[];
    onDecision?: (decision: EgressDecision) => void;
  }): Promise<EgressProxy> {
    const proxy = new EgressProxy(options.path, options.allow, options.onDecision);
    await rm(options.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.path, () => resolve());
    });
    await chmod(options.path, 0o666);
    return proxy;
  }

  #handle(client: Socket): void {
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD)
          refuse(client, '431 Request Header Fields Too Large', 'request head too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      this.#route(client, head.subarray(0, end + 4), head.subarray(end + 4));
    };
    client.on('data', onData);
  }

  #route(client: Socket, head: Buffer, rest: Buffer): void {
    const text = head.toString('latin1');
    const firstLine = text.slice(0, text.indexOf('\r\n'));
    const [method, target, version] = firstLine.split(' ');
    if (!method || !target || !version?.startsWith('HTTP/')) {
      refuse(client, '400 Bad Request', 'malformed request line');
      return;
    }
    let destination: { host: string; port: number } | undefined;
    let forwardHead: Buffer | undefined;
    if (method === 'CONNECT') {
      destination = parseTarget(target, 443);
    } else {
      let url: URL | undefined;
      try {
        url = new URL(target);
      } catch {
        url = undefined;
      }
      if (url?.protocol !== 'http:') {
        refuse(client, '400 Bad Request', 'only CONNECT and absolute http:// requests are proxied');
        return;
      }
      destination = parseTarget(url.host, 80);
      const originForm = `${method} ${url.pathname}${url.search} ${version}`;
      forwardHead = Buffer.from(originForm + text.slice(firstLine.length), 'latin1');
    }
    if (!destination) {
      refuse(client, '400 Bad Request', `bad destination ${target}`);
      return;
    }
    const allowed = isAllowed(this.#allow, destination.host, destination.port);
    this.#onDecision?.({ ...destination, allowed });
    if (!allowed) {
      refuse(
        client,
        '403 Forbidden',
        `${destination.host}:${destination.port} is not in this sandbox's network allow-list`,
      );
      return;
    }
    const upstream = connect({ host: destination.host, port: destination.port });
    this.#sockets.add(upstream);
    upstream.on('close', () => this.#sockets.delete(upstream));
    upstream.on('error', () => {
      if (!client.destroyed && method === 'CONNECT' && upstream.bytesRead === 0) {
        refuse(client, '502 Bad Gateway', `cannot reach ${destination.host}:${destination.port}`);
      } else client.destroy();
    });
    upstream.on('connect', () => {
      if (forwardHead) upstream.write(forwardHead);
      else client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}
