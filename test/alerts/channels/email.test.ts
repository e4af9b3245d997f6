import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannel, EmailChannel, emailSubject, loadNodemailer } from '../../../src/alerts/channels/index.js';
import { isPythonBridgeError } from '../../../src/contract/errors.js';
import { alert, Lines, notification, resolved } from './helpers.js';

interface Mail {
  raw: string;
  from: string | undefined;
  to: string[];
  secure: boolean;
  user: string | undefined;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real SMTP server on loopback, keeping every message it accepted. */
async function smtp(options: Partial<SMTPServerOptions> = {}): Promise<{ port: number; mails: Mail[]; logins: { user: string; pass: string }[] }> {
  const mails: Mail[] = [];
  const logins: { user: string; pass: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: [],
    logger: false,
    onAuth(auth, _session, cb) {
      logins.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      if (auth.username === 'alerts' && auth.password === 'Sm7p-pa55-secret') cb(null, { user: 'alerts' });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          raw: Buffer.concat(chunks).toString('utf8'),
          from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        cb();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, mails, logins };
}

/** Unfolded headers of a raw message. */
function headers(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const out: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** The decoded text/plain part of a (multipart) message. */
function plainText(raw: string): string {
  const m = /Content-Type: text\/plain[^\r\n]*\r\n(?:[^\r\n]+\r\n)*?Content-Transfer-Encoding: ([^\r\n]+)\r\n\r\n([\s\S]*?)\r\n--/i.exec(raw);
  if (m === null) throw new Error(`no text/plain part in:\n${raw}`);
  const [, enc, body] = m as unknown as [string, string, string];
  if (enc.trim().toLowerCase() === 'quoted-printable') return body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\r\n/g, '\n');
  if (enc.trim().toLowerCase() === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  return body.replace(/\r\n/g, '\n');
}

describe('email channel', () => {
  it('sends From/To/Subject and a body listing the alerts, labels, annotations and runbook', async () => {
    const srv = await smtp({ hideSTARTTLS: true });
    const ch = createChannel({ type: 'email', smtp: { host: '127.0.0.1', port: srv.port }, from: 'dspex@example.test', to: ['oncall@example.test', 'team@example.test'] });
    cleanups.push(() => ch.close());
    const n = notification();
    expect(await ch.send(n)).toEqual({ status: 'sent', attempts: 1 });
    expect(srv.mails).toHaveLength(1);
    const mail = srv.mails[0]!;
    expect(mail.from).toBe('dspex@example.test');
    expect(mail.to).toEqual(['oncall@example.test', 'team@example.test']);
    const h = headers(mail.raw);
    expect(h['from']).toBe('dspex@example.test');
    expect(h['to']).toBe('oncall@example.test, team@example.test');
    expect(h['subject']).toBe('[FIRING:1] DspexHighErrorRate (pool=default)');
    const text = plainText(mail.raw);
    expect(text).toContain('Alerts firing:');
    expect(text).toContain('- DspexHighErrorRate (warning) firing since 2025-01-02T03:04:05.678Z, value 0.08');
    expect(text).toContain('  summary: error rate above 5%');
    expect(text).toContain('  description: error rate is 8% over 1m');
    expect(text).toContain('  runbook: docs/OPERATIONS_PLAYBOOK.md#pool-error-rate-high');
    expect(text).toContain('  labels: alertname=DspexHighErrorRate, pool=default, severity=warning');
    expect(text).toContain('  fingerprint: a1b2c3d4e5f60718');
    expect(mail.raw).toMatch(/Content-Type: text\/html/);

    // A resolution.
    expect(await ch.send(notification({}, [resolved(alert())]))).toMatchObject({ status: 'sent' });
    expect(headers(srv.mails[1]!.raw)['subject']).toBe('[RESOLVED] DspexHighErrorRate (pool=default)');
    expect(plainText(srv.mails[1]!.raw)).toContain('Alerts resolved:');
    expect(ch.stats()).toMatchObject({ type: 'email', sent: 2, failed: 0, lastError: null });
  });

  it('logs in over STARTTLS; the server checks user and password; the password never shows', async () => {
    const srv = await smtp({ authMethods: ['PLAIN', 'LOGIN'] });
    const PASS = 'Sm7p-pa55-secret';
    const lines = new Lines();
    const logger = pino({ level: 'debug' }, lines);
    const ok = createChannel({
      type: 'email',
      smtp: { host: '127.0.0.1', port: srv.port, requireTLS: true, auth: { user: 'alerts', pass: PASS }, tls: { rejectUnauthorized: false } },
      from: 'dspex@example.test',
      to: 'oncall@example.test',
      subjectPrefix: '[prod] ',
    });
    const bad = createChannel({
      type: 'email',
      smtp: { host: '127.0.0.1', port: srv.port, requireTLS: true, auth: { user: 'alerts', pass: `${PASS}-wrong` }, tls: { rejectUnauthorized: false } },
      from: 'dspex@example.test',
      to: 'oncall@example.test',
    });
    cleanups.push(() => ok.close(), () => bad.close());
    const r1 = await ok.send(notification());
    const r2 = await bad.send(notification());
    logger.info({ r1, r2, stats: [ok.stats(), bad.stats()], names: [ok.name, bad.name] }, 'email results');
    expect(r1).toEqual({ status: 'sent', attempts: 1 });
    // A refused login is permanent: not retried.
    expect(r2).toMatchObject({ status: 'failed', attempts: 1 });
    expect(srv.mails).toHaveLength(1);
    expect(srv.mails[0]!.secure).toBe(true); // STARTTLS upgraded the session
    expect(srv.mails[0]!.user).toBe('alerts');
    expect(srv.logins).toEqual([
      { user: 'alerts', pass: PASS },
      { user: 'alerts', pass: `${PASS}-wrong` },
    ]);
    expect(headers(srv.mails[0]!.raw)['subject']).toBe('[prod] [FIRING:1] DspexHighErrorRate (pool=default)');
    expect(bad.stats().lastError).toMatch(/Invalid login|auth/i);
    const visible = JSON.stringify([ok.stats(), bad.stats(), ok.name, bad.name, r1, r2]) + lines.all;
    expect(visible).not.toContain(PASS);
  });

  it('subjects: several firing, suppressed summary', () => {
    const two = notification({}, [alert(), alert({ fingerprint: 'x', labels: { alertname: 'DspexHighErrorRate', severity: 'warning', pool: 'b' } })]);
    expect(emailSubject(two)).toBe('[FIRING:2] DspexHighErrorRate');
    const sup = notification({ reason: 'suppressed', suppressed: { count: 7, byAlertname: { A: 7 }, sinceMs: 1 } }, []);
    expect(emailSubject(sup)).toBe('[SUPPRESSED:7] alert notifications dropped by the rate limit');
  });

  it('loads nodemailer on demand; a missing package is a typed error naming it', async () => {
    const m = await loadNodemailer();
    expect(typeof m.createTransport).toBe('function');
    const ch = await EmailChannel.create({ smtp: { host: '127.0.0.1', port: 25 }, from: 'a@b.c', to: 'd@e.f' });
    await ch.close();
    const err = await loadNodemailer('dspex-no-such-mailer').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isPythonBridgeError(err, 'invalid_request')).toBe(true);
    expect(err).toMatchObject({ type: 'invalid_options', code: 'DSPEX_INVALID_REQUEST_INVALID_OPTIONS', details: { option: 'type' } });
    expect((err as Error).message).toContain("'dspex-no-such-mailer' is not installed");
  });
});
