import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotification, NotifiedAlert } from '../../../src/contract/alerts.js';

let seq = 0;

/** One alert as the manager would notify it (overrides merged in). */
export function alert(over: Partial<NotifiedAlert> = {}): NotifiedAlert {
  const alertname = over.alertname ?? 'DspexHighErrorRate';
  const severity = over.severity ?? 'warning';
  return {
    fingerprint: 'a1b2c3d4e5f60718',
    alertname,
    status: 'firing',
    severity,
    labels: { alertname, severity, pool: 'default' },
    annotations: { summary: 'error rate above 5%', description: 'error rate is 8% over 1m', runbook: 'docs/OPERATIONS_PLAYBOOK.md#pool-error-rate-high' },
    startsAtMs: Date.UTC(2025, 0, 2, 3, 4, 5, 678),
    endsAtMs: 0,
    value: 0.08,
    ...over,
  };
}

/** A notification of the given alerts (default: one firing alert). */
export function notification(over: Partial<AlertNotification> = {}, alerts: NotifiedAlert[] = [alert()]): AlertNotification {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    id: `n-${process.pid}-${++seq}`,
    reason: status === 'firing' ? 'firing' : 'resolved',
    status,
    groupLabels: { alertname: alerts[0]?.alertname ?? 'X' },
    alerts,
    timestampMs: Date.now(),
    ...over,
  };
}

/** A resolved copy of an alert. */
export function resolved(a: NotifiedAlert, endsAtMs = a.startsAtMs + 90_000): NotifiedAlert {
  return { ...a, status: 'resolved', endsAtMs };
}

/** One request a test server received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real local HTTP server answering by a handler; records every request. */
export async function httpServer(handler: (req: Received, res: ServerResponse, n: number) => void): Promise<{ url: string; received: Received[]; server: Server; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      handler(r, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A writable-like destination collecting pino's lines. */
export class Lines {
  readonly text: string[] = [];
  write(s: string): boolean {
    this.text.push(s);
    return true;
  }
  get all(): string {
    return this.text.join('');
  }
  records(): Record<string, unknown>[] {
    return this.all
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
