#!/usr/bin/env node
// Writes the strict JSON schemas that .ci/validate-k8s.cjs checks deploy/*.yaml against, from a
// Kubernetes OpenAPI v2 document (swagger.json). Run by hand when the Kubernetes version changes:
//
//   node deploy/schemas/generate.cjs <swagger.json> <kubernetes version, e.g. v1.31>
//
// It does what openapi2jsonschema --strict does for the schemas kubeconform uses: one file per
// kind that refers into _definitions.json; every object with named properties refuses the others
// (additionalProperties: false, as kubectl's strict field validation does); IntOrString becomes
// "string or integer" and Quantity "string or number" (YAML writes `cpu: 1` and `port: 3000`).
// Only the definitions the listed kinds reach are kept, without their descriptions (the vendored
// files stay small; the field names and types are what is checked), and without the x-kubernetes-*
// annotations (not JSON Schema; Ajv's strict mode refuses unknown keywords).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// The kinds deploy/ uses: file name (yannh/kubernetes-json-schema's naming) -> definition.
const KINDS = {
  'configmap-v1.json': 'io.k8s.api.core.v1.ConfigMap',
  'secret-v1.json': 'io.k8s.api.core.v1.Secret',
  'service-v1.json': 'io.k8s.api.core.v1.Service',
  'deployment-apps-v1.json': 'io.k8s.api.apps.v1.Deployment',
  'job-batch-v1.json': 'io.k8s.api.batch.v1.Job',
  'poddisruptionbudget-policy-v1.json': 'io.k8s.api.policy.v1.PodDisruptionBudget',
};
const REF = '#/definitions/';

function main() {
  const [input, version] = process.argv.slice(2);
  if (!input || !/^v\d+\.\d+(\.\d+)?$/.test(version ?? '')) {
    console.error('usage: node deploy/schemas/generate.cjs <swagger.json> <version, e.g. v1.31>');
    process.exit(2);
  }
  const raw = fs.readFileSync(input);
  const definitions = JSON.parse(raw.toString('utf8')).definitions;
  const out = path.join(__dirname, `${version}-strict`);
  fs.mkdirSync(out, { recursive: true });

  const reached = new Set();
  const visit = (name) => {
    if (reached.has(name)) return;
    if (!definitions[name]) throw new Error(`definition ${name} not in ${input}`);
    reached.add(name);
    collectRefs(definitions[name]).forEach(visit);
  };
  Object.values(KINDS).forEach(visit);

  const kept = {};
  for (const name of [...reached].sort()) kept[name] = strict(definitions[name], name);
  write(path.join(out, '_definitions.json'), { $id: '_definitions.json', definitions: kept });

  for (const [file, name] of Object.entries(KINDS)) {
    const gvk = definitions[name]['x-kubernetes-group-version-kind'][0];
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    // The kind's own schema with its apiVersion and kind pinned; the rest by reference.
    const own = strict(definitions[name], name);
    own.properties.apiVersion = { type: 'string', enum: [apiVersion] };
    own.properties.kind = { type: 'string', enum: [gvk.kind] };
    own.required = ['apiVersion', 'kind', 'metadata'];
    write(path.join(out, file), { $id: file, ...relocate(own) });
  }
  const sha256 = crypto.createHash('sha256').update(raw).digest('hex');
  console.log(`${Object.keys(KINDS).length} kinds, ${reached.size} definitions -> ${path.relative(process.cwd(), out)} (input sha256 ${sha256})`);
}

function collectRefs(node, acc = []) {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, acc));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') acc.push(v.slice(REF.length));
      else collectRefs(v, acc);
    }
  }
  return acc;
}

// A schema node with descriptions and x-kubernetes-* dropped and unknown properties refused.
function strict(node, where) {
  if (Array.isArray(node)) return node.map((n) => strict(n, where));
  if (!node || typeof node !== 'object') return node;
  if (where === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString' || node.format === 'int-or-string') {
    return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  }
  if (where === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return { oneOf: [{ type: 'string' }, { type: 'number' }] };
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties') {
      out.properties = {};
      for (const [p, s] of Object.entries(v)) out.properties[p] = strict(s, `${where}.${p}`);
    } else out[k] = strict(v, where);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

// References in a kind's file point into the _definitions.json next to it.
function relocate(node) {
  if (Array.isArray(node)) return node.map(relocate);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' ? `_definitions.json${v}` : relocate(v);
  return out;
}

function write(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 1) + '\n');
}

main();
