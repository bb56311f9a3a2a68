import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// deploy/ against the vendored Kubernetes schemas and the project checks (.ci/validate-k8s.cjs),
// and the same validator refusing broken copies of it. No cluster: the validator is the test.
const ROOT = join(__dirname, '..');
const VALIDATOR = join(ROOT, '.ci', 'validate-k8s.cjs');

// The command CI runs, and its exit code.
function runValidator(dir?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [VALIDATOR, ...(dir ? [dir] : [])], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
// The same checks in this process (faster for the broken copies): one line per problem.
const { validate } = createRequire(__filename)(VALIDATOR) as { validate: (dir: string) => { problems: string[]; documents: number } };
const problems = (dir: string) => validate(dir).problems.join('\n');

describe('Kubernetes manifests (deploy/)', () => {
  let dir: string;
  const edit = (file: string, from: string | RegExp, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const changed = text.replace(from, to);
    expect(changed).not.toBe(text);
    writeFileSync(path, changed);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'k8s-manifests-'));
    cpSync(join(ROOT, 'deploy'), dir, { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'deploy', 'schemas')) });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are valid against Kubernetes v1.31 (strict) and the project checks', () => {
    const r = runValidator();
    expect(r.out).toMatch(/validate-k8s: 6 documents in deploy\/ valid against Kubernetes v1\.31 \(strict\)/);
    expect(r.status).toBe(0);
    // The copy the other cases break is valid as it is.
    expect(validate(dir)).toEqual({ problems: [], documents: 6 });
  });

  it('refuses a field Kubernetes does not know, with exit code 1', () => {
    edit('deployment.yaml', /readOnlyRootFilesystem: true/, 'readOnlyRootFilesystem: true\n            readOnlyRootFilesytem: true');
    const r = runValidator(dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('/spec/template/spec/containers/0/securityContext: unknown field "readOnlyRootFilesytem"');
  });

  it('refuses a probe that does not ask /health on the service port', () => {
    edit('deployment.yaml', /(livenessProbe:\n\s+httpGet:\n\s+path:) \/health/, '$1 /healthz');
    edit('deployment.yaml', /(readinessProbe:\n\s+httpGet:\n\s+path: \/health\n\s+port:) http/, '$1 8080');
    const out = problems(dir);
    expect(out).toContain('livenessProbe: path /healthz is not /health');
    expect(out).toContain("readinessProbe: port 8080 is not the service's port 3000");
    expect(out).not.toContain('startupProbe');
  });

  it('refuses a grace period that does not cover the preStop sleep and the shutdown deadline', () => {
    edit('deployment.yaml', /value: "25000"/, 'value: "28000"');
    expect(problems(dir)).toContain('terminationGracePeriodSeconds 30 s must exceed the preStop sleep 3 s + SHUTDOWN_DEADLINE_MS 28 s');
  });

  it('refuses a user other than the image one, and a setting the service does not read', () => {
    edit('deployment.yaml', /runAsUser: 10001/, 'runAsUser: 1000');
    edit('configmap.yaml', /DB_POOL_SIZE:/, 'DB_POOL:');
    const out = problems(dir);
    expect(out).toContain("runAsUser 1000 is not the Dockerfile's USER webchat (uid 10001)");
    expect(out).toContain('data.DB_POOL: not a setting of the service (src/config/app-config.ts)');
  });

  it('refuses a ConfigMap value Kubernetes reads as a boolean, a Job the Service would route to, and a Secret in the kustomization', () => {
    edit('configmap.yaml', /DB_MIGRATE_ON_START: "false"/, 'DB_MIGRATE_ON_START: false');
    let out = problems(dir);
    expect(out).toContain('ConfigMap webchat-recorder-config: /data/DB_MIGRATE_ON_START: must be string');
    edit('configmap.yaml', /DB_MIGRATE_ON_START: false/, 'DB_MIGRATE_ON_START: "false"');
    edit('migrate-job.yaml', /component: migration/g, 'component: server');
    edit('kustomization.yaml', /- pdb.yaml/, '- pdb.yaml\n  - secret.example.yaml');
    out = problems(dir);
    expect(out).toContain('Service webchat-recorder: spec.selector also selects the migration Job pods');
    expect(out).toContain('kustomization.yaml: secret.example.yaml is a Secret with placeholders; it must not be applied');
  });
});
