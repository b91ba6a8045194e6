'use strict';
// A small kustomize renderer for the kustomizations of deploy/k8s, so that the
// checks run where kubectl is missing (CI installs only Debian packages, and
// Debian 12's kubectl 1.20 bundles a kustomize too old for these files).
//
// It supports exactly what deploy/k8s uses, the way `kubectl kustomize`
// (kustomize v5) does it:
//   - resources: YAML files in or below the kustomization's directory, and
//     directories holding a kustomization (rendered first, recursively);
//   - patches: entries with only `path`, naming a strategic-merge patch that
//     finds its target by apiVersion, kind and metadata.name (see mergePatch
//     for the part of strategic merge that is implemented); a patch whose top
//     level says `$patch: delete` removes its target (overlays/postgres
//     removes the base's StatefulSet that way);
//   - namespace: set on every namespaced object; a Namespace object is renamed
//     to it, as kustomize does. Applied after the patches, as kustomize does.
// Anything else (another kustomization field, patch option or patch form, a
// list whose merge rule is not in the table below) is an error that names it,
// never a silently different render. validate-manifests.js compares this
// render with `kubectl kustomize` wherever kubectl is available.
//
//   const { renderKustomization } = require('./kustomize-lite');
//   const objects = renderKustomization('deploy/k8s/overlays/dev');

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches']);
const SUPPORTED_PATCH_FIELDS = new Set(['path']);

// Where kustomize's `namespace:` goes. A kind in neither set is an error, not
// a guess: some kinds carry namespaces elsewhere too (RoleBinding subjects,
// webhook service references), which this renderer does not rewrite.
const NAMESPACED_KINDS = new Set([
  'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'StatefulSet',
]);
const RENAMED_TO_NAMESPACE_KINDS = new Set(['Namespace']);

// Strategic merge of lists: the patchMergeKey of each list a patch may touch,
// from the Kubernetes API types, by path below the object (`[]` marks a list
// element). A patch that reaches any other list is rejected: real strategic
// merge replaces lists that have no merge key (args, accessModes), which
// kustomize-lite does not implement.
const POD_SPEC_OF_KIND = {
  StatefulSet: 'spec.template.spec',
};
const POD_SPEC_LIST_KEYS = {
  'containers': 'name',
  'volumes': 'name',
  'containers[].env': 'name',
  'containers[].ports': 'containerPort',
  'containers[].volumeMounts': 'mountPath',
};

class KustomizeLiteError extends Error {}

function fail(message) {
  throw new KustomizeLiteError(message);
}

const isMap = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// Parses every YAML document of a file; empty documents are skipped.
function readYamlDocuments(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const errors = docs.flatMap((doc) => doc.errors.map((e) => `${file}: YAML: ${e.message}`));
  if (errors.length > 0) {
    fail(errors.join('\n'));
  }
  return docs.map((doc) => doc.toJS()).filter((value) => value !== null && value !== undefined);
}

// kustomize's load restriction: files a kustomization names must be in or
// below its directory (directories may be anywhere).
function fileInside(dir, relative, what) {
  if (typeof relative !== 'string' || relative === '') {
    fail(`${dir}: ${what} must be a relative path, got ${JSON.stringify(relative)}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(relative) || path.isAbsolute(relative)) {
    fail(`${dir}: ${what} ${relative}: only relative local paths are supported`);
  }
  const file = path.resolve(dir, relative);
  const fromDir = path.relative(dir, file);
  if (fromDir.startsWith('..') || path.isAbsolute(fromDir)) {
    fail(`${dir}: ${what} ${relative} is not in or below the kustomization's directory`);
  }
  return file;
}

function kustomizationFile(dir) {
  const found = KUSTOMIZATION_FILES.map((name) => path.join(dir, name)).filter((f) => fs.existsSync(f));
  if (found.length !== 1) {
    fail(`${dir}: expected one of ${KUSTOMIZATION_FILES.join(', ')}, found ${found.length}`);
  }
  return found[0];
}

const idOf = (o) => `${o.apiVersion} ${o.kind} ${(o.metadata && o.metadata.namespace) || '~'}/${o.metadata && o.metadata.name}`;

function checkResource(object, source) {
  if (!isMap(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' ||
      !isMap(object.metadata) || typeof object.metadata.name !== 'string') {
    fail(`${source}: every resource needs apiVersion, kind and metadata.name`);
  }
  if (object.kind === 'List' || object.kind.endsWith('List')) {
    fail(`${source}: ${object.kind}: list objects are not supported; write the items as documents`);
  }
}

// Merges `patch` into `original` (either may be undefined) the way a
// strategic-merge patch does, for the subset kustomize-lite supports: maps
// merge key by key, null deletes a key, scalars replace, and lists merge by
// their merge key (listKeyAt) with the patch's elements first, in the patch's
// order, then the original's other elements in their order (what kustomize
// produces). `where` is the path below the patched object, for listKeyAt and
// messages. Returns the merged value; does not modify its arguments.
function mergePatch(original, patch, listKeyAt, where = '') {
  if (Array.isArray(patch)) {
    const key = listKeyAt(where);
    if (key === undefined) {
      fail(`patch sets the list ${where}, whose strategic-merge rule kustomize-lite does not know (it knows the lists in POD_SPEC_LIST_KEYS)`);
    }
    if (original !== undefined && !Array.isArray(original)) {
      fail(`patch sets ${where} to a list, but it is not a list in the resource`);
    }
    const byKey = (list, whose) => {
      const seen = new Map();
      for (const element of list) {
        if (!isMap(element) || element[key] === undefined || element[key] === null) {
          fail(`${whose} ${where}: every element needs its merge key ${key}`);
        }
        if (seen.has(element[key])) {
          fail(`${whose} ${where}: two elements with ${key} ${JSON.stringify(element[key])}`);
        }
        seen.set(element[key], element);
      }
      return seen;
    };
    const originals = byKey(original || [], 'resource');
    const patched = byKey(patch, 'patch');
    const merged = patch.map((element) =>
      mergePatch(originals.get(element[key]), element, listKeyAt, `${where}[]`));
    const kept = (original || []).filter((element) => !patched.has(element[key]));
    return [...merged, ...kept.map((element) => structuredClone(element))];
  }
  if (isMap(patch)) {
    const merged = isMap(original) ? structuredClone(original) : {};
    for (const [name, value] of Object.entries(patch)) {
      const at = where === '' ? name : `${where}.${name}`;
      if (name.startsWith('$')) {
        fail(`patch directive ${at} is not supported by kustomize-lite`);
      }
      if (value === null) {
        delete merged[name];
      } else {
        merged[name] = mergePatch(merged[name], value, listKeyAt, at);
      }
    }
    return merged;
  }
  return patch;
}

// The merge key of the list at `where` in an object of `kind`, or undefined.
function listKeyFor(kind) {
  const podSpec = POD_SPEC_OF_KIND[kind];
  return (where) => {
    if (podSpec === undefined || !where.startsWith(`${podSpec}.`)) {
      return undefined;
    }
    return POD_SPEC_LIST_KEYS[where.slice(podSpec.length + 1)];
  };
}

function applyPatches(dir, entries, objects) {
  if (!Array.isArray(entries)) {
    fail(`${dir}: patches must be a list`);
  }
  for (const entry of entries) {
    if (!isMap(entry)) {
      fail(`${dir}: every patches entry must be a map with a path`);
    }
    for (const field of Object.keys(entry)) {
      if (!SUPPORTED_PATCH_FIELDS.has(field)) {
        fail(`${dir}: patches entry field "${field}" is not supported by kustomize-lite (only path)`);
      }
    }
    const file = fileInside(dir, entry.path, 'patch');
    const docs = readYamlDocuments(file);
    if (docs.length !== 1 || !isMap(docs[0])) {
      fail(`${file}: expected one strategic-merge patch (a map); JSON 6902 patches and several patches per file are not supported by kustomize-lite`);
    }
    const { $patch: directive, ...patch } = docs[0];
    if (directive !== undefined && directive !== 'delete') {
      fail(`${file}: patch directive $patch is not supported by kustomize-lite with the value ${JSON.stringify(directive)} (only a top-level "$patch: delete")`);
    }
    checkResource(patch, file);
    if (patch.metadata.namespace !== undefined) {
      fail(`${file}: a patch with metadata.namespace is not supported by kustomize-lite`);
    }
    const matches = objects.filter((o) => o.apiVersion === patch.apiVersion &&
      o.kind === patch.kind && o.metadata.name === patch.metadata.name);
    if (matches.length !== 1) {
      fail(`${file}: the patch for ${patch.apiVersion} ${patch.kind} ${patch.metadata.name} matches ${matches.length} resources; it must match exactly one`);
    }
    const target = matches[0];
    if (directive === 'delete') {
      objects.splice(objects.indexOf(target), 1);
      continue;
    }
    const merged = mergePatch(target, patch, listKeyFor(target.kind));
    objects[objects.indexOf(target)] = merged;
  }
}

function setNamespace(dir, namespace, objects) {
  if (typeof namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
    fail(`${dir}: namespace must be a DNS label, got ${JSON.stringify(namespace)}`);
  }
  for (const object of objects) {
    if (NAMESPACED_KINDS.has(object.kind)) {
      object.metadata.namespace = namespace;
    } else if (RENAMED_TO_NAMESPACE_KINDS.has(object.kind)) {
      object.metadata.name = namespace;
    } else {
      fail(`${dir}: kustomize-lite does not know how \`namespace:\` applies to kind ${object.kind} (add it to NAMESPACED_KINDS if only metadata.namespace changes)`);
    }
  }
  const ids = new Set();
  for (const object of objects) {
    if (ids.has(idOf(object))) {
      fail(`${dir}: two resources are ${idOf(object)} after setting the namespace`);
    }
    ids.add(idOf(object));
  }
}

function build(dir, stack) {
  dir = path.resolve(dir);
  if (stack.includes(dir)) {
    fail(`kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  }
  const file = kustomizationFile(dir);
  const docs = readYamlDocuments(file);
  if (docs.length !== 1 || !isMap(docs[0])) {
    fail(`${file}: expected one YAML map`);
  }
  const k = docs[0];
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      fail(`${file}: field "${field}" is not supported by kustomize-lite (supported: ${[...SUPPORTED_FIELDS].join(', ')}); extend tests/deploy/kustomize-lite.js`);
    }
  }
  if (k.apiVersion !== undefined && k.apiVersion !== 'kustomize.config.k8s.io/v1beta1') {
    fail(`${file}: apiVersion ${k.apiVersion} is not supported`);
  }
  if (k.kind !== undefined && k.kind !== 'Kustomization') {
    fail(`${file}: kind ${k.kind} is not supported (only Kustomization)`);
  }

  const objects = [];
  const ids = new Set();
  const add = (object, source) => {
    checkResource(object, source);
    const id = idOf(object);
    if (ids.has(id)) {
      fail(`${source}: ${id} is already a resource of ${dir}`);
    }
    ids.add(id);
    objects.push(object);
  };
  if (k.resources !== undefined && !Array.isArray(k.resources)) {
    fail(`${file}: resources must be a list`);
  }
  for (const entry of k.resources || []) {
    if (typeof entry !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || path.isAbsolute(entry)) {
      fail(`${file}: resource ${JSON.stringify(entry)}: only relative local paths are supported`);
    }
    const target = path.resolve(dir, entry);
    if (!fs.existsSync(target)) {
      fail(`${file}: resource ${entry} does not exist`);
    }
    if (fs.statSync(target).isDirectory()) {
      for (const object of build(target, [...stack, dir])) {
        add(object, target);
      }
    } else {
      const resourceFile = fileInside(dir, entry, 'resource');
      for (const object of readYamlDocuments(resourceFile)) {
        add(object, resourceFile);
      }
    }
  }
  if (k.patches !== undefined) {
    applyPatches(dir, k.patches, objects);
  }
  if (k.namespace !== undefined) {
    setNamespace(dir, k.namespace, objects);
  }
  return objects;
}

// Renders the kustomization in `dir`; returns its objects as plain values, in
// the order the resources were listed (kubectl sorts them by kind; compare
// renders as sets).
function renderKustomization(dir) {
  return build(dir, []);
}

module.exports = { renderKustomization, mergePatch, KustomizeLiteError };
