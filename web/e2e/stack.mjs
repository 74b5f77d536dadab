// The real system for end-to-end tests: a private PostgreSQL (scripts/pg.sh), the simulator
// (`flux-orchestrator sim`) and the server (`flux-orchestrator serve`), each on a free port.
// Also runnable by hand: `node e2e/stack.mjs` starts it all and prints the URL.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = process.env.FLUXO_BIN ?? join(ROOT, 'target/debug/flux-orchestrator');

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(what, fn, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last : ''}`);
}

function start(name, args, env, logs) {
  const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const keep = (d) => {
    out.push(d.toString());
    if (out.length > 400) out.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  logs[name] = out;
  return child;
}

/**
 * Start everything. `opts.objects`: Flux objects per kind per simulated cluster;
 * `opts.resyncIntervalSecs`: the server's backstop relist period (default 0: off).
 */
export async function startStack(opts = {}) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run cargo build first`);
  const dir = mkdtempSync(join(tmpdir(), 'fluxo-e2e-'));
  chmodSync(dir, 0o755);
  const logs = {};
  const procs = {};
  const pgPort = await freePort();
  const pgDir = join(dir, 'pg');
  execFileSync(join(ROOT, 'scripts/pg.sh'), ['start', pgDir, String(pgPort), 'fast'], { stdio: 'inherit' });
  try {
    return await startRest({ dir, logs, procs, pgDir, pgPort, opts });
  } catch (e) {
    // Leave nothing running behind a failed start.
    await stopChild(procs.server);
    await stopChild(procs.sim);
    execFileSync(join(ROOT, 'scripts/pg.sh'), ['stop', pgDir]);
    for (const [name, lines] of Object.entries(logs)) console.error(`--- ${name} ---\n${lines.join('')}`);
    throw e;
  }
}

async function startRest({ dir, logs, procs, pgDir, pgPort, opts }) {
  execFileSync('psql', [`postgres://postgres@127.0.0.1:${pgPort}/postgres`, '-qc', 'CREATE DATABASE fluxo'], { stdio: 'inherit' });
  const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/fluxo`;
  const kubeDir = join(dir, 'kubeconfigs');
  const adminPort = await freePort();
  procs.sim = start(
    'sim',
    ['sim', '--clusters', String(opts.clusters ?? 1), '--objects', String(opts.objects ?? 2), '--churn', '0', '--namespaces', '2',
      '--kubeconfig-dir', kubeDir, '--admin-port', String(adminPort)],
    {},
    logs,
  );
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const help = execFileSync(BIN, ['serve', '--help']).toString();
  const auth = help.includes('--admin-token');
  // The server refuses admin tokens shorter than 32 characters.
  const adminToken = 'e2e-admin-token-' + randomUUID();
  const serverArgs = () => [
    'serve', '--listen', `127.0.0.1:${httpPort}`, '--database-url', databaseUrl, '--dev-secret-key-file', join(dir, 'secret.key'),
    '--stream-heartbeat-ms', '2000', '--resync-interval-secs', String(opts.resyncIntervalSecs ?? 0),
    ...(auth ? ['--admin-token', adminToken] : []),
  ];
  const startServer = async () => {
    procs.server = start('server', serverArgs(), { FLUXO_LOG: 'info' }, logs);
    await waitFor('the server', async () => (await fetch(url + '/readyz')).ok);
  };
  await startServer();
  await waitFor('the simulator', () => existsSync(join(kubeDir, 'admin-url')) && existsSync(join(kubeDir, 'sim-1.yaml')));
  const simAdmin = readFileSync(join(kubeDir, 'admin-url'), 'utf8').trim();

  const stack = {
    dir, url, auth, adminToken, kubeDir, simAdmin, logs,
    kubeconfig: (i = 1) => readFileSync(join(kubeDir, `sim-${i}.yaml`), 'utf8'),
    kubeconfigPath: (i = 1) => join(kubeDir, `sim-${i}.yaml`),
    /** Run kubectl against simulated cluster i. */
    kubectl: (args, i = 1) => execFileSync('kubectl', ['--kubeconfig', join(kubeDir, `sim-${i}.yaml`), ...args]).toString(),
    /** Stop the server (the UI's connection drops) and start it again on the same port. */
    async restartServer(downMs = 1500) {
      await stopChild(procs.server);
      await sleep(downMs);
      await startServer();
    },
    async stopServer() {
      await stopChild(procs.server);
    },
    startServer,
    /** An API call with the admin token (when authentication is on). */
    async api(path, init = {}) {
      const headers = { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${adminToken}` } : {}), ...init.headers };
      const r = await fetch(url + path, { ...init, headers });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    },
    /** Everything the server and the simulator printed (the last few hundred chunks). */
    logText: () => Object.entries(logs).map(([name, lines]) => `--- ${name} ---\n${lines.join('')}`).join('\n'),
    async stop() {
      await stopChild(procs.server);
      await stopChild(procs.sim);
      execFileSync(join(ROOT, 'scripts/pg.sh'), ['stop', pgDir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

if (process.argv[1] === import.meta.filename) {
  const stack = await startStack({ objects: Number(process.env.OBJECTS ?? 3), clusters: Number(process.env.CLUSTERS ?? 2) });
  console.log(`server ${stack.url}  kubeconfigs ${stack.kubeDir}  sim admin ${stack.simAdmin}${stack.auth ? '  admin token ' + stack.adminToken : ''}`);
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
