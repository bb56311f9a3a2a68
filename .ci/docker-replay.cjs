#!/usr/bin/env node
// Replays the Dockerfile without a Docker engine, then starts the result and asks it for /health.
//
//   node .ci/docker-replay.cjs [--keep] [--compile-native]
//
// Each stage gets an empty folder under a temporary root; an absolute path P of the stage maps to
// <stage folder>/P. COPY from the build context honours .dockerignore; COPY --from=<stage> reads
// the earlier stage's folder; RUN runs `/bin/sh -c` in the mapped WORKDIR with the stage's ENV.
// What it cannot replay it says so, step by step:
// - system steps (a RUN starting with apt-get, groupadd, useradd, adduser or addgroup) are not
//   run; apt-get's packages must be installed here (checked with dpkg), the user is emulated by
//   starting the service as `nobody` when this runs as root;
// - the base image is this machine's Node (checked: same major version as the FROM tag);
// - better-sqlite3's native addon: prebuild-install would download a prebuilt binary (there is no
//   network to GitHub here) and then compile it (two minutes and more on a busy CI box). The replay
//   hands it the addon the repository's own `npm ci` just built, as a local prebuild (same
//   version, same Node ABI), unless --compile-native is given. (npm warns "Unknown env config
//   better-sqlite3-local-prebuilds": the variable is prebuild-install's, not npm's.)
// Then the final stage is checked (no test/ or bench/ code, no devDependency, a non-root USER) and
// started as CMD says with the image's ENV, a temporary SQLite and local outbox, on a free port;
// the image's HEALTHCHECK command must succeed and GET /health answer {status:"ok"}.
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const CONTEXT = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));
const SYSTEM_STEP = /^\s*(apt-get|groupadd|useradd|adduser|addgroup)\b/;
const started = Date.now();
const t0 = () => ((Date.now() - started) / 1000).toFixed(1).padStart(6) + 's';
const say = (msg) => console.log(`[replay ${t0()}] ${msg}`);
class ReplayFailure extends Error {}
function fail(msg) {
  throw new ReplayFailure(msg);
}

// ---- Dockerfile parsing -------------------------------------------------------------------------

function parseDockerfile(text) {
  const lines = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) && cur === '') continue;
    if (/^\s*#/.test(raw)) continue; // comment inside a continuation
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    if (cur.trim()) lines.push(cur.trim());
    cur = '';
  }
  return lines.map((l) => {
    const m = /^(\S+)\s*(.*)$/s.exec(l);
    return { op: m[1].toUpperCase(), rest: m[2] };
  });
}

const execForm = (rest) => (rest.trim().startsWith('[') ? JSON.parse(rest) : null);

function parseEnv(rest) {
  const out = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  if (!rest.includes('=')) {
    const [k, ...v] = rest.split(/\s+/);
    out[k] = v.join(' ');
    return out;
  }
  for (const m of rest.matchAll(re)) out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
  return out;
}

// ---- .dockerignore ------------------------------------------------------------------------------

function globToRegExp(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function loadIgnore() {
  const file = path.join(CONTEXT, '.dockerignore');
  if (!fs.existsSync(file)) return () => false;
  const rules = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/$/, '');
      return { negate, re: globToRegExp(p) };
    });
  // As Docker does: a rule matching a folder matches everything in it; the last matching rule wins.
  return (rel) => {
    const parts = rel.split('/');
    let ignored = false;
    for (const r of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (r.re.test(parts.slice(0, n).join('/'))) {
          ignored = !r.negate;
          break;
        }
      }
    }
    return ignored;
  };
}

// ---- stages -------------------------------------------------------------------------------------

function copyTree(src, dest, filter, relFromContext) {
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dest, { recursive: true });
    let n = 0;
    for (const name of fs.readdirSync(src)) {
      const rel = relFromContext === null ? null : path.posix.join(relFromContext, name);
      if (rel !== null && filter(rel)) continue;
      n += copyTree(path.join(src, name), path.join(dest, name), filter, rel);
    }
    return n;
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
  if (st.mode & 0o111) fs.chmodSync(dest, st.mode & 0o777);
  return 1;
}

function nodePrebuildDir(root) {
  // A local prebuild of better-sqlite3 made from the repository's own build (see the header).
  const pkgDir = path.join(CONTEXT, 'node_modules', 'better-sqlite3');
  const addon = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  const lock = JSON.parse(fs.readFileSync(path.join(CONTEXT, 'package-lock.json'), 'utf8'));
  const locked = lock.packages['node_modules/better-sqlite3']?.version;
  const built = fs.existsSync(addon) ? JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version : null;
  if (!locked || built !== locked) {
    say(`no local prebuild: the repository's better-sqlite3 is ${built ?? 'not built'}, the lockfile says ${locked}; it will compile`);
    return null;
  }
  const dir = path.join(root, 'prebuilds');
  fs.mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${locked}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', path.join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  say(`local prebuild for better-sqlite3 ${locked} (Node ABI ${process.versions.modules}) from the repository's build`);
  return dir;
}

function checkSystemPackages(cmd) {
  const m = /apt-get\s+install\s+(.*?)(?:&&|$)/.exec(cmd);
  if (!m) return;
  const pkgs = m[1].split(/\s+/).filter((p) => p && !p.startsWith('-'));
  const missing = pkgs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (missing.length) fail(`system packages the Dockerfile installs are missing here: ${missing.join(' ')}`);
  say(`  system packages present here: ${pkgs.join(' ')}`);
}

function replay(steps, root, ignored) {
  const stages = new Map();
  let stage = null;
  let idx = 0;
  const prebuilds = args.has('--compile-native') ? null : nodePrebuildDir(root);
  for (const { op, rest } of steps) {
    const stepStart = Date.now();
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const name = m[2] ?? String(idx);
      const dir = path.join(root, `${idx++}-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      const base = stages.get(m[1]);
      if (base) fs.cpSync(base.dir, dir, { recursive: true });
      else {
        const tag = /^node:(\d+)/.exec(m[1]);
        const here = process.versions.node.split('.')[0];
        if (!tag || tag[1] !== here) fail(`FROM ${m[1]}: the replay stands in this machine's Node ${process.versions.node} for it, which does not match`);
      }
      stage = { name, dir, workdir: base ? base.workdir : '/', env: base ? { ...base.env } : {}, user: base?.user ?? 'root', cmd: null, health: null };
      stages.set(name, stage);
      say(`stage ${name} (FROM ${m[1]}) in ${dir}`);
      continue;
    }
    if (!stage) fail(`${op} before FROM`);
    const inStage = (p) => path.join(stage.dir, path.posix.isAbsolute(p) ? p : path.posix.join(stage.workdir, p));
    switch (op) {
      case 'WORKDIR':
        stage.workdir = path.posix.isAbsolute(rest) ? rest : path.posix.join(stage.workdir, rest);
        fs.mkdirSync(inStage('.'), { recursive: true });
        break;
      case 'ENV':
        Object.assign(stage.env, parseEnv(rest));
        break;
      case 'USER':
        stage.user = rest.trim();
        break;
      case 'CMD':
        stage.cmd = execForm(rest) ?? ['/bin/sh', '-c', rest];
        break;
      case 'HEALTHCHECK': {
        const m = /CMD\s+(.*)$/s.exec(rest);
        stage.health = m ? (execForm(m[1]) ?? ['/bin/sh', '-c', m[1]]) : null;
        break;
      }
      case 'COPY': {
        const words = (execForm(rest) ?? rest.split(/\s+/)).filter(Boolean);
        const from = words.find((w) => w.startsWith('--from='))?.slice(7);
        const plain = words.filter((w) => !w.startsWith('--'));
        const dest = plain.pop();
        const toDir = dest.endsWith('/') || plain.length > 1;
        let files = 0;
        for (const src of plain) {
          let abs;
          let rel = null;
          if (from) {
            const other = stages.get(from);
            if (!other) fail(`COPY --from=${from}: no such stage`);
            abs = path.join(other.dir, path.posix.isAbsolute(src) ? src : path.posix.join(other.workdir, src));
          } else {
            rel = path.posix
              .normalize(src)
              .replace(/^\.\/?/, '')
              .replace(/\/$/, '');
            abs = path.join(CONTEXT, rel);
            if (rel && ignored(rel)) fail(`COPY ${src}: excluded by .dockerignore`);
          }
          if (!fs.existsSync(abs)) fail(`COPY ${src}: not found${from ? ` in stage ${from}` : ' in the build context'}`);
          const isDir = fs.statSync(abs).isDirectory();
          const target = isDir || !toDir ? inStage(dest) : path.join(inStage(dest), path.basename(abs));
          files += copyTree(abs, target, ignored, from ? null : rel || '');
        }
        say(`  COPY ${rest} (${files} files)`);
        break;
      }
      case 'RUN': {
        const cmd = execForm(rest)?.join(' ') ?? rest;
        if (SYSTEM_STEP.test(cmd)) {
          say(`  RUN ${cmd.slice(0, 90)}... skipped (system step)`);
          checkSystemPackages(cmd);
          break;
        }
        // The replay shares this machine's npm cache (that is what makes it fast): never clear it.
        if (/npm\s+cache\s+clean/.test(cmd)) fail(`RUN ${cmd}: would clear this machine's npm cache (useless in a stage anyway)`);
        say(`  RUN ${cmd}`);
        const env = { ...process.env, ...stage.env };
        if (prebuilds) env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
        const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: inStage('.'), env, stdio: ['ignore', 'inherit', 'inherit'] });
        if (r.status !== 0) fail(`RUN ${cmd}: exit ${r.status}`);
        say(`  ... done in ${((Date.now() - stepStart) / 1000).toFixed(1)} s`);
        break;
      }
      case 'EXPOSE':
      case 'VOLUME':
      case 'LABEL':
      case 'ARG':
        break;
      default:
        fail(`${op}: not replayed by this script`);
    }
  }
  return stage;
}

// ---- the final stage: checks, start, /health ----------------------------------------------------

function checkImage(final) {
  const app = path.join(final.dir, final.workdir);
  for (const p of ['dist/test', 'dist/bench', 'test', 'bench', 'src']) {
    if (fs.existsSync(path.join(app, p))) fail(`the final stage holds ${p}: the image must not need tests or sources`);
  }
  // A devDependency the lockfile marks dev-only must be absent (some are also a production
  // package's peer, e.g. @types/node of mysql2: those npm installs with --omit=dev too).
  const pkg = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
  const lock = JSON.parse(fs.readFileSync(path.join(CONTEXT, 'package-lock.json'), 'utf8'));
  const devOnly = Object.keys(pkg.devDependencies ?? {}).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
  const dev = devOnly.filter((d) => fs.existsSync(path.join(app, 'node_modules', d)));
  if (dev.length) fail(`devDependencies in the final stage: ${dev.join(' ')}`);
  if (!devOnly.includes('jest')) fail('the lockfile does not mark jest dev-only: the check above would be empty');
  if (final.user === 'root' || final.user === '0' || final.user.startsWith('0:')) fail('the final stage runs as root (no USER)');
  if (!final.health) fail('the final stage has no HEALTHCHECK');
  const size = execFileSync('du', ['-sh', final.dir]).toString().split('\t')[0];
  say(`final stage: user ${final.user}, no test/bench code, no devDependencies, ${size} on disk`);
}

const freePort = () =>
  new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => res(port));
    });
  });

async function startAndCheck(final, root) {
  const app = path.join(final.dir, final.workdir);
  const data = path.join(root, 'data');
  fs.mkdirSync(path.join(data, 'outbox'), { recursive: true });
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: app,
    ...final.env,
    PORT: String(port),
    DATABASE_URL: `sqlite:${path.join(data, 'webchat.sqlite')}`,
    EXPORT_LOCAL_DIR: path.join(data, 'outbox'),
    JWT_SECRET: require('node:crypto').randomBytes(32).toString('hex'),
  };
  // The image's user: not root. As root here, run as nobody, able to write only the data folder.
  let wrap = [];
  if (process.getuid?.() === 0) {
    fs.chmodSync(root, 0o755);
    execFileSync('chown', ['-R', 'nobody', data]);
    wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
  }
  const [cmd, ...cmdArgs] = [...wrap, ...final.cmd];
  say(`start: ${final.cmd.join(' ')} on port ${port}${wrap.length ? ' as nobody' : ''} (ENV ${Object.keys(final.env).join(' ')})`);
  let out = '';
  const child = spawn(cmd, cmdArgs, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let exited = null;
  child.on('exit', (code, sig) => (exited = code ?? sig));
  const stop = async () => {
    if (exited !== null) return;
    process.kill(-child.pid, 'SIGTERM');
    for (let i = 0; i < 100 && exited === null; i++) await new Promise((r) => setTimeout(r, 100));
    if (exited === null) process.kill(-child.pid, 'SIGKILL');
  };
  try {
    const healthStart = Date.now();
    let healthy = false;
    while (!healthy && Date.now() - healthStart < 60_000 && exited === null) {
      await new Promise((r) => setTimeout(r, 500));
      const [hc, ...hcArgs] = [...wrap, ...final.health];
      healthy = spawnSync(hc, hcArgs, { cwd: app, env, stdio: 'ignore', timeout: 3000 }).status === 0;
    }
    if (!healthy) fail(`the image's HEALTHCHECK did not pass${exited !== null ? ` (the service exited: ${exited})` : ' within 60 s'}\n${out.slice(-3000)}`);
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    const body = await res.json();
    if (res.status !== 200 || body.status !== 'ok') fail(`GET /health answered ${res.status} ${JSON.stringify(body)}`);
    say(`HEALTHCHECK passed after ${((Date.now() - healthStart) / 1000).toFixed(1)} s; GET /health -> ${res.status} ${JSON.stringify(body)}`);
  } finally {
    await stop();
  }
  say(`stopped (${exited})`);
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-replay-'));
  try {
    const steps = parseDockerfile(fs.readFileSync(path.join(CONTEXT, 'Dockerfile'), 'utf8'));
    const final = replay(steps, root, loadIgnore());
    checkImage(final);
    await startAndCheck(final, root);
    say('OK');
  } catch (err) {
    console.error(`[replay ${t0()}] FAILED: ${err instanceof ReplayFailure ? err.message : (err?.stack ?? String(err))}`);
    process.exitCode = 1;
  } finally {
    if (args.has('--keep')) say(`kept ${root}`);
    else {
      // Some 60,000 files: removed in the background (tens of seconds on a busy disk).
      spawn('rm', ['-rf', root], { detached: true, stdio: 'ignore' }).unref();
      say(`removing ${root} in the background`);
    }
  }
}

void main();
