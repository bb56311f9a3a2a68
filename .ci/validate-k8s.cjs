#!/usr/bin/env node
// Checks the Kubernetes manifests in deploy/ without a cluster:
//
//   node .ci/validate-k8s.cjs [folder]        (default: deploy/; npm run validate:k8s)
//
// 1. Every YAML document is validated against its kind's JSON schema for Kubernetes v1.31,
//    strict (a field Kubernetes does not know is refused, as `kubectl apply` does), vendored in
//    deploy/schemas/ (deploy/schemas/README.md says where they come from).
// 2. Project checks that a schema cannot make: the pods run as the Dockerfile's USER on its
//    EXPOSEd port with a read-only root and the image's VOLUMEs mounted; the probes ask /health on
//    that port; the grace period covers the preStop sleep plus SHUTDOWN_DEADLINE_MS, and liveness
//    outlasts the shutdown; every environment variable set is one src/config/app-config.ts reads;
//    the ConfigMap and Secret referenced exist; the Service and the PodDisruptionBudget select the
//    Deployment's pods and not the migration Job's; the Job runs the migrations with the
//    Deployment's image; kustomization.yaml lists files that exist and no Secret.
// Exit code 1 with one line per problem, 0 with a summary.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv').default;
const addFormats = require('ajv-formats').default;
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..');
const KUBERNETES_VERSION = 'v1.31';
const SCHEMAS = path.join(ROOT, 'deploy', 'schemas', `${KUBERNETES_VERSION}-strict`);
const SCHEMA_FILES = {
  'v1/ConfigMap': 'configmap-v1.json',
  'v1/Secret': 'secret-v1.json',
  'v1/Service': 'service-v1.json',
  'apps/v1/Deployment': 'deployment-apps-v1.json',
  'batch/v1/Job': 'job-batch-v1.json',
  'policy/v1/PodDisruptionBudget': 'poddisruptionbudget-policy-v1.json',
};
const HEALTH_PATH = '/health';
const MIGRATE_COMMAND = ['node', 'dist/src/cli/migrate.js', 'run'];

// ---- schemas --------------------------------------------------------------------------------

function loadValidators() {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMAS, '_definitions.json'), 'utf8')));
  const validators = {};
  for (const [key, file] of Object.entries(SCHEMA_FILES)) validators[key] = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8')));
  return validators;
}

function describeError(e) {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${e.params.additionalProperty}"`;
  if (e.keyword === 'enum') return `${at}: must be one of ${e.params.allowedValues.join(', ')}`;
  return `${at}: ${e.message}`;
}

// ---- what the repository says ------------------------------------------------------------------

// The final stage of the Dockerfile: its USER as uid/gid, EXPOSEd ports, ENV and VOLUMEs.
function readDockerfile(file) {
  const joined = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages = joined.split(/^\s*FROM\s/im);
  const final = stages[stages.length - 1].split('\n');
  const out = { user: null, uid: null, gid: null, expose: [], env: {}, volumes: [] };
  const users = {};
  const groups = {};
  for (const line of final) {
    const [, instr, rest = ''] = line.trim().match(/^(\w+)\s*(.*)$/) ?? [];
    if (!instr) continue;
    const word = instr.toUpperCase();
    if (word === 'USER') out.user = rest.trim();
    else if (word === 'EXPOSE') out.expose.push(...rest.split(/\s+/).map((p) => Number(p.split('/')[0])));
    else if (word === 'VOLUME') out.volumes.push(...(rest.trim().startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/)));
    else if (word === 'ENV') for (const m of rest.matchAll(/([A-Za-z_]\w*)=("(?:[^"\\]|\\.)*"|\S*)/g)) out.env[m[1]] = m[2].replace(/^"|"$/g, '');
    else if (word === 'RUN') {
      for (const cmd of rest.split(/&&|;/)) {
        const u = cmd.match(/\buseradd\b(.*)/);
        if (u) users[u[1].trim().split(/\s+/).pop()] = { uid: flag(u[1], 'uid', 'u'), gid: flag(u[1], 'gid', 'g') };
        const g = cmd.match(/\bgroupadd\b(.*)/);
        if (g) groups[g[1].trim().split(/\s+/).pop()] = flag(g[1], 'gid', 'g');
      }
    }
  }
  const [name, group] = (out.user ?? '').split(':');
  if (/^\d+$/.test(name ?? '')) out.uid = Number(name);
  else if (users[name]) out.uid = Number(users[name].uid);
  const gidName = group ?? users[name]?.gid;
  if (gidName !== undefined) out.gid = /^\d+$/.test(gidName) ? Number(gidName) : Number(groups[gidName]);
  return out;
}

function flag(args, long, short) {
  const m = args.match(new RegExp(`(?:^|\\s)(?:--${long}|-${short})[\\s=]+(\\S+)`));
  return m ? m[1] : undefined;
}

// The environment variables the service reads: env.NAME, env['NAME'] and int(env, 'NAME', ...).
function readKnownEnv(file) {
  const text = fs.readFileSync(file, 'utf8');
  const names = new Set();
  for (const re of [/\benv\.([A-Z][A-Z0-9_]*)\b/g, /\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g, /\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g]) {
    for (const m of text.matchAll(re)) names.add(m[1]);
  }
  return { names, text };
}

// A setting's default as app-config.ts gives it: int(env, 'NAME', 25_000, ...).
function configDefault(text, name) {
  const m = text.match(new RegExp(`\\(\\s*env\\s*,\\s*['"]${name}['"]\\s*,\\s*([\\d_]+)`));
  return m ? Number(m[1].replace(/_/g, '')) : undefined;
}

// ---- manifests -----------------------------------------------------------------------------------

function readManifests(dir, problems) {
  const docs = [];
  let kustomization = null;
  for (const file of fs.readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    // YAML 1.1, as Kubernetes reads it: an unquoted yes/no/on/off is a boolean there too.
    const parsed = YAML.parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
    if (!Array.isArray(parsed)) {
      problems.push(`${file}: not YAML documents`);
      continue;
    }
    parsed.forEach((doc, i) => {
      const where = parsed.length > 1 ? `${file}[${i}]` : file;
      if (doc.errors.length) {
        for (const e of doc.errors) problems.push(`${where}: ${e.message.split('\n')[0]}`);
        return;
      }
      const value = doc.toJS({ maxAliasCount: 0 });
      if (value === null || value === undefined) return;
      if (file === 'kustomization.yaml' || file === 'kustomization.yml') kustomization = { file, value };
      else docs.push({ file, where, value });
    });
  }
  return { docs, kustomization };
}

function label(doc) {
  const m = doc.value?.metadata ?? {};
  return `${doc.where}: ${doc.value?.kind ?? '?'} ${m.name ?? (m.generateName ? m.generateName + '*' : '?')}`;
}

// ---- checks --------------------------------------------------------------------------------------

function validate(dir) {
  const problems = [];
  const { docs, kustomization } = readManifests(dir, problems);
  const validators = loadValidators();

  for (const doc of docs) {
    const v = doc.value;
    if (typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`${doc.where}: not a Kubernetes object`);
      continue;
    }
    const validator = validators[`${v.apiVersion}/${v.kind}`];
    if (!validator) {
      problems.push(`${label(doc)}: no schema for apiVersion ${v.apiVersion} kind ${v.kind} (known: ${Object.keys(SCHEMA_FILES).join(', ')})`);
      continue;
    }
    if (!validator(v)) for (const e of validator.errors) problems.push(`${label(doc)}: ${describeError(e)}`);
  }
  // The project checks read fields the schemas have vouched for.
  if (problems.length === 0) projectChecks(docs, kustomization, dir, problems);
  return { problems, documents: docs.length };
}

function projectChecks(docs, kustomization, dir, problems) {
  const image = readDockerfile(path.join(ROOT, 'Dockerfile'));
  const known = readKnownEnv(path.join(ROOT, 'src', 'config', 'app-config.ts'));
  const byKind = (kind) => docs.filter((d) => d.value.kind === kind);
  const named = (kind, name) => docs.find((d) => d.value.kind === kind && d.value.metadata?.name === name);
  const say = (doc, msg) => problems.push(`${label(doc)}: ${msg}`);

  const deployments = byKind('Deployment');
  if (deployments.length !== 1) problems.push(`${dir}: expected one Deployment, found ${deployments.length}`);
  for (const doc of byKind('ConfigMap')) {
    for (const key of Object.keys(doc.value.data ?? {})) if (!known.names.has(key)) say(doc, `data.${key}: not a setting of the service (src/config/app-config.ts)`);
  }
  for (const doc of byKind('Secret')) {
    const keys = Object.keys({ ...(doc.value.data ?? {}), ...(doc.value.stringData ?? {}) });
    for (const key of keys) if (!known.names.has(key)) say(doc, `${key}: not a setting of the service (src/config/app-config.ts)`);
  }

  // The environment a container gets: envFrom first, then env; a valueFrom's value is unknown.
  const environment = (doc, c) => {
    const env = {};
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef) {
        const cm = named('ConfigMap', from.configMapRef.name);
        if (!cm && !from.configMapRef.optional) say(doc, `envFrom: no ConfigMap ${from.configMapRef.name} in ${path.basename(dir)}/`);
        Object.assign(env, cm?.value.data ?? {});
      }
      if (from.secretRef) {
        const s = named('Secret', from.secretRef.name);
        if (!s && !from.secretRef.optional) say(doc, `envFrom: no Secret ${from.secretRef.name} (not even an example) in ${path.basename(dir)}/`);
        Object.assign(env, s?.value.data ?? {}, s?.value.stringData ?? {});
      }
      if (from.prefix) say(doc, `envFrom.prefix "${from.prefix}": the service reads unprefixed names`);
    }
    for (const e of c.env ?? []) {
      if (!known.names.has(e.name)) say(doc, `env ${e.name}: not a setting of the service (src/config/app-config.ts)`);
      const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
      if (ref) {
        const src = named(e.valueFrom.configMapKeyRef ? 'ConfigMap' : 'Secret', ref.name);
        const has = src && ref.key in { ...(src.value.data ?? {}), ...(src.value.stringData ?? {}) };
        if (!has && !ref.optional) say(doc, `env ${e.name}: ${ref.name} has no key ${ref.key}`);
      }
      env[e.name] = e.value ?? (e.valueFrom ? undefined : '');
    }
    return env;
  };

  const podChecks = (doc, pod) => {
    const sc = pod.securityContext ?? {};
    for (const c of pod.containers) {
      const csc = c.securityContext ?? {};
      const runAsUser = csc.runAsUser ?? sc.runAsUser;
      const runAsGroup = csc.runAsGroup ?? sc.runAsGroup;
      if ((csc.runAsNonRoot ?? sc.runAsNonRoot) !== true) say(doc, `container ${c.name}: runAsNonRoot must be true`);
      if (runAsUser !== image.uid) say(doc, `container ${c.name}: runAsUser ${runAsUser} is not the Dockerfile's USER ${image.user} (uid ${image.uid})`);
      if (image.gid !== null && runAsGroup !== undefined && runAsGroup !== image.gid) say(doc, `container ${c.name}: runAsGroup ${runAsGroup} is not the image's group ${image.gid}`);
      if (csc.readOnlyRootFilesystem !== true) say(doc, `container ${c.name}: readOnlyRootFilesystem must be true`);
      if (csc.allowPrivilegeEscalation !== false) say(doc, `container ${c.name}: allowPrivilegeEscalation must be false`);
      if (!c.resources?.requests || !c.resources?.limits) say(doc, `container ${c.name}: resources needs requests and limits`);
    }
  };

  // ---- the Deployment
  const deployment = deployments[0];
  let serverLabels = {};
  let serverImage;
  if (deployment) {
    const spec = deployment.value.spec;
    const pod = spec.template.spec;
    serverLabels = spec.template.metadata?.labels ?? {};
    if (!matches(spec.selector, serverLabels)) say(deployment, 'spec.selector does not match the pod template labels');
    podChecks(deployment, pod);
    if (pod.containers.length !== 1) say(deployment, `expected one container, found ${pod.containers.length}`);
    const c = pod.containers[0];
    serverImage = c.image;
    const env = environment(deployment, c);
    const port = Number(env.PORT ?? image.env.PORT ?? configDefault(known.text, 'PORT'));
    const httpPort = (c.ports ?? []).find((p) => p.containerPort === port);
    if (!httpPort) say(deployment, `container ${c.name}: no containerPort ${port} (PORT)`);
    if (!image.expose.includes(port)) say(deployment, `PORT ${port} is not a port the Dockerfile EXPOSEs (${image.expose.join(', ')})`);
    const probePort = (p) => (typeof p === 'string' ? (c.ports ?? []).find((x) => x.name === p)?.containerPort : p);
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const probe = c[kind];
      if (!probe) {
        if (kind !== 'startupProbe') say(deployment, `container ${c.name}: no ${kind}`);
        continue;
      }
      if (!probe.httpGet) say(deployment, `${kind}: must be an httpGet of ${HEALTH_PATH}`);
      else {
        if (probe.httpGet.path !== HEALTH_PATH) say(deployment, `${kind}: path ${probe.httpGet.path} is not ${HEALTH_PATH}`);
        if (probePort(probe.httpGet.port) !== port) say(deployment, `${kind}: port ${probe.httpGet.port} is not the service's port ${port}`);
      }
    }
    // The shutdown budget. Defaults as Kubernetes and app-config.ts give them.
    const deadlineMs = Number(env.SHUTDOWN_DEADLINE_MS ?? configDefault(known.text, 'SHUTDOWN_DEADLINE_MS'));
    if (!Number.isFinite(deadlineMs)) say(deployment, 'SHUTDOWN_DEADLINE_MS: not set and no default found in src/config/app-config.ts');
    const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
    const preStopMs = preStopSleepMs(c.lifecycle?.preStop);
    if (preStopMs === null) say(deployment, 'lifecycle.preStop: only a sleep (the sleep action or exec sleep N) is understood here');
    if (!(graceMs > deadlineMs + (preStopMs ?? 0))) {
      say(
        deployment,
        `terminationGracePeriodSeconds ${graceMs / 1000} s must exceed the preStop sleep ${(preStopMs ?? 0) / 1000} s + SHUTDOWN_DEADLINE_MS ${deadlineMs / 1000} s`,
      );
    }
    // /health answers 503 from the start of the shutdown: the earliest restart comes
    // (failureThreshold - 1) periods after the first failed probe, which may be at once.
    const live = c.livenessProbe;
    if (live) {
      const toleratedMs = ((live.failureThreshold ?? 3) - 1) * (live.periodSeconds ?? 10) * 1000;
      if (!(toleratedMs > deadlineMs)) {
        say(deployment, `livenessProbe: (failureThreshold - 1) x periodSeconds = ${toleratedMs / 1000} s must exceed SHUTDOWN_DEADLINE_MS ${deadlineMs / 1000} s`);
      }
    }
    const ready = c.readinessProbe;
    if (ready && (ready.failureThreshold ?? 3) * (ready.periodSeconds ?? 10) > 10) say(deployment, 'readinessProbe: failureThreshold x periodSeconds should be 10 s at most');
    // The image's VOLUMEs are where it writes; with a read-only root they must be mounted.
    for (const volume of image.volumes) {
      if (!(c.volumeMounts ?? []).some((m) => m.mountPath === volume)) say(deployment, `container ${c.name}: the image's VOLUME ${volume} is not mounted (read-only root)`);
    }
    if ((spec.replicas ?? 1) > 1 && !env.REDIS_URL) say(deployment, 'more than one replica needs REDIS_URL (socket.io rooms across pods)');
    if (env.DB_MIGRATE_ON_START !== undefined && /^(1|true|yes|on)$/i.test(env.DB_MIGRATE_ON_START)) {
      say(deployment, 'DB_MIGRATE_ON_START: every pod would migrate at start; migrations run in the Job');
    }
  }

  // ---- Service and PodDisruptionBudget select the server pods, the Job's pods are not selected
  const jobLabels = byKind('Job').map((j) => j.value.spec.template.metadata?.labels ?? {});
  for (const doc of byKind('Service')) {
    const sel = { matchLabels: doc.value.spec.selector ?? {} };
    if (!matches(sel, serverLabels)) say(doc, 'spec.selector does not select the Deployment pods');
    if (jobLabels.some((l) => matches(sel, l))) say(doc, 'spec.selector also selects the migration Job pods');
    const c = deployment?.value.spec.template.spec.containers[0];
    for (const p of doc.value.spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const ok = (c?.ports ?? []).some((x) => x.name === target || x.containerPort === target);
      if (!ok) say(doc, `port ${p.port}: targetPort ${target} is not a port of the Deployment's container`);
    }
    if (doc.value.spec.sessionAffinity !== 'ClientIP') say(doc, 'sessionAffinity must be ClientIP (socket.io polling sessions live on one pod)');
  }
  for (const doc of byKind('PodDisruptionBudget')) {
    if (!matches(doc.value.spec.selector, serverLabels)) say(doc, 'spec.selector does not select the Deployment pods');
    const replicas = deployment?.value.spec.replicas ?? 1;
    const { minAvailable, maxUnavailable } = doc.value.spec;
    if (typeof minAvailable === 'number' && minAvailable >= replicas) say(doc, `minAvailable ${minAvailable} with ${replicas} replicas blocks every drain`);
    if (maxUnavailable === 0 || maxUnavailable === '0%') say(doc, 'maxUnavailable 0 blocks every drain');
  }

  // ---- the migration Job
  for (const doc of byKind('Job')) {
    const pod = doc.value.spec.template.spec;
    podChecks(doc, pod);
    const c = pod.containers[0];
    const cmd = [...(c.command ?? []), ...(c.args ?? [])];
    if (cmd.join(' ') !== MIGRATE_COMMAND.join(' ')) say(doc, `runs "${cmd.join(' ')}", not "${MIGRATE_COMMAND.join(' ')}"`);
    // kustomization.yaml's `images` rewrites the Deployment only; the Job is created on its own.
    const released = serverImage && effectiveImage(serverImage, kustomization);
    if (released && c.image !== released) say(doc, `image ${c.image} is not the Deployment's image ${released} (after kustomization.yaml)`);
    environment(doc, c);
  }

  // ---- kustomization.yaml
  if (kustomization) {
    for (const r of kustomization.value.resources ?? []) {
      if (!fs.existsSync(path.join(dir, r))) problems.push(`${kustomization.file}: resource ${r} does not exist`);
      const secret = docs.find((d) => d.file === r && d.value.kind === 'Secret');
      if (secret) problems.push(`${kustomization.file}: ${r} is a Secret with placeholders; it must not be applied`);
    }
  }
}

function matches(selector, labels) {
  const want = selector?.matchLabels ?? {};
  if (Object.keys(want).length === 0 && !(selector?.matchExpressions ?? []).length) return false;
  if (!Object.entries(want).every(([k, v]) => labels[k] === v)) return false;
  return (selector?.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In') return has && e.values.includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !e.values.includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    return !has;
  });
}

// The sleep before SIGTERM in ms: the sleep action, or exec ["sleep", N]; null when it is
// something else.
function preStopSleepMs(handler) {
  if (!handler) return 0;
  if (handler.sleep) return handler.sleep.seconds * 1000;
  const cmd = handler.exec?.command ?? [];
  const m = cmd.join(' ').match(/^(?:\/bin\/|\/usr\/bin\/)?sleep\s+(\d+)$/) ?? cmd.join(' ').match(/^(?:\/bin\/)?sh -c (?:\/bin\/)?sleep\s+(\d+)$/);
  return m ? Number(m[1]) * 1000 : null;
}

// The image a resource listed in kustomization.yaml runs after its `images` rewrite.
function effectiveImage(ref, kustomization) {
  const name = ref.replace(/[:@].*$/, '');
  const rule = (kustomization?.value.images ?? []).find((i) => i.name === name);
  return rule ? `${rule.newName ?? name}:${rule.newTag ?? ref.split(':')[1]}` : ref;
}

function main() {
  const dir = path.resolve(process.argv[2] ?? path.join(ROOT, 'deploy'));
  const rel = path.relative(process.cwd(), dir);
  const shown = rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
  const { problems, documents } = validate(dir);
  if (problems.length) {
    for (const p of problems) console.error(`validate-k8s: ${p}`);
    console.error(`validate-k8s: ${problems.length} problem(s) in ${shown}/`);
    process.exit(1);
  }
  console.log(`validate-k8s: ${documents} documents in ${shown}/ valid against Kubernetes ${KUBERNETES_VERSION} (strict) and the project checks`);
}

module.exports = { validate, readDockerfile, readKnownEnv };
if (require.main === module) main();
