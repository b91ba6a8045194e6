'use strict';
// Checks the Kubernetes manifests of deploy/k8s offline, with no cluster:
// renders each kustomization with kustomize-lite.js, validates every object
// strictly against the Kubernetes API schemas (unknown fields are errors), and
// checks the rules the server depends on (policy below).
//
// Where kubectl (with kustomize 4 or newer) is installed, each kustomization
// is also rendered with `kubectl kustomize` and the two renders must be the
// same objects: that proves kustomize-lite against the real kustomize on
// every machine that has it (developer machines, this repository's image).
// Without kubectl (CI installs only Debian packages, and Debian 12's kubectl
// is too old) the lite render alone is checked, and the output says so.
//
//   node validate-manifests.js KUSTOMIZATION_DIR...
//
// Prints every problem and exits 1 if there is any.

const { execFileSync } = require('node:child_process');
const { isDeepStrictEqual } = require('node:util');
const YAML = require('yaml');
const { schemaErrors } = require('./k8s-schema');
const { renderKustomization } = require('./kustomize-lite');

// The PostgreSQL layout (overlays/postgres): a Deployment of this many
// replicas, of which the PodDisruptionBudget keeps POSTGRES_MIN_AVAILABLE
// serving, so that evictions take one at a time.
const POSTGRES_REPLICAS = 3;
const POSTGRES_MIN_AVAILABLE = 2;
// The port the PostgreSQL layout's NetworkPolicy must let out.
const POSTGRES_PORT = 5432;

// Seconds the pod needs after the gRPC server's grace: stopping the worker
// and closing the database.
const MIN_SHUTDOWN_MARGIN_SECONDS = 2;
// The server's --shutdown-grace-seconds default.
const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;

// Returns { usable: true, version } if `kubectl kustomize` can render these
// kustomizations, else { usable: false, reason }. `resources:` naming a
// directory and `patches:` need kustomize 4 or newer (kubectl 1.21+).
function kubectlKustomize() {
  let version;
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'],
                             { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    version = JSON.parse(out).kustomizeVersion;
  } catch (error) {
    const reason = error.code === 'ENOENT' ? 'kubectl is not installed' : error.message;
    return { usable: false, reason };
  }
  const major = /^v(\d+)\./.exec(version || '');
  if (major === null || Number(major[1]) < 4) {
    return { usable: false, reason: `kubectl's kustomize is ${version || 'missing'}; 4 or newer is needed` };
  }
  return { usable: true, version };
}

// The objects of `kubectl kustomize dir`.
function renderWithKubectl(dir) {
  return parse(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }));
}

function parse(text) {
  const docs = YAML.parseAllDocuments(text);
  const problems = [];
  for (const doc of docs) {
    for (const error of doc.errors) {
      problems.push(`YAML: ${error.message}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(problems.join('\n'));
  }
  return docs.map((doc) => doc.toJS()).filter((object) => object !== null);
}

const nameOf = (object) =>
  `${object && object.kind}/${object && object.metadata && object.metadata.name}`;

// True if matchLabels (no matchExpressions) selects pods with these labels.
function selects(selector, labels) {
  if (!selector || selector.matchExpressions) {
    return false;
  }
  const wanted = Object.entries(selector.matchLabels || selector);
  return wanted.length > 0 &&
         wanted.every(([key, value]) => labels[key] === value);
}

function portOf(address) {
  const match = /:(\d+)$/.exec(address || '');
  return match === null ? undefined : Number(match[1]);
}

// True if the pod template asks the scheduler (preferred or required) to keep
// pods with its own labels off one node.
function spreadsOverNodes(pod, labels) {
  const antiAffinity = (pod.affinity || {}).podAntiAffinity || {};
  const terms = [
    ...(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution || []),
    ...(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution || [])
      .map((preferred) => preferred.podAffinityTerm || {}),
  ];
  return terms.some((term) => term.topologyKey === 'kubernetes.io/hostname' &&
                              selects(term.labelSelector, labels));
}

// Checks the workload's pod template: a StatefulSet is the SQLite layout (one
// replica on a volume), a Deployment the PostgreSQL layout (several replicas
// sharing the database of SERVICEMANAGER_DATABASE_URL). `p` collects the
// problems.
function checkPod(workload, p) {
  const spec = workload.spec || {};
  const template = spec.template || {};
  const labels = (template.metadata && template.metadata.labels) || {};
  const pod = template.spec || {};
  const name = nameOf(workload);
  const sqlite = workload.kind === 'StatefulSet';

  if (sqlite && spec.replicas !== 1) {
    p(`${name}: spec.replicas is ${JSON.stringify(spec.replicas)}; it must be 1 (one SQLite writer on a ReadWriteOnce volume, operations claimed in-process)`);
  }
  if (!sqlite && spec.replicas !== POSTGRES_REPLICAS) {
    p(`${name}: spec.replicas is ${JSON.stringify(spec.replicas)}; it must be ${POSTGRES_REPLICAS} (the PodDisruptionBudget keeps ${POSTGRES_MIN_AVAILABLE} serving)`);
  }
  if (!sqlite && !spreadsOverNodes(pod, labels)) {
    p(`${name}: the pods need a podAntiAffinity term (preferred or required) with topologyKey kubernetes.io/hostname selecting their own labels, so that one node down takes one replica`);
  }
  if (!selects(spec.selector, labels)) {
    p(`${name}: spec.selector.matchLabels does not select the pod template's labels`);
  }
  if (pod.enableServiceLinks !== false) {
    p(`${name}: enableServiceLinks must be false (service links inject SERVICEMANAGER_* variables)`);
  }
  if (pod.automountServiceAccountToken !== false) {
    p(`${name}: automountServiceAccountToken must be false (the server does not use the Kubernetes API)`);
  }
  const podSecurity = pod.securityContext || {};
  const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
  for (const c of containers) {
    const where = `${name} container ${c.name}`;
    const sc = c.securityContext;
    if (!sc) {
      p(`${where}: securityContext is missing`);
    }
    const s = sc || {};
    if ((s.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true) {
      p(`${where}: runAsNonRoot must be true`);
    }
    const uid = s.runAsUser ?? podSecurity.runAsUser;
    if (!Number.isInteger(uid) || uid <= 0) {
      p(`${where}: runAsUser must be a non-zero UID (got ${JSON.stringify(uid)})`);
    }
    if (s.readOnlyRootFilesystem !== true) {
      p(`${where}: securityContext.readOnlyRootFilesystem must be true`);
    }
    if (s.allowPrivilegeEscalation !== false) {
      p(`${where}: securityContext.allowPrivilegeEscalation must be false`);
    }
    if (s.privileged === true) {
      p(`${where}: securityContext.privileged must not be true`);
    }
    const drop = (s.capabilities && s.capabilities.drop) || [];
    if (!drop.includes('ALL')) {
      p(`${where}: securityContext.capabilities.drop must include ALL`);
    }
    if (s.capabilities && (s.capabilities.add || []).length > 0) {
      p(`${where}: securityContext.capabilities.add must be empty`);
    }
    const seccomp = (s.seccompProfile || podSecurity.seccompProfile || {}).type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      p(`${where}: seccompProfile.type must be RuntimeDefault or Localhost`);
    }
    const resources = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (!resources[kind] || resources[kind][resource] === undefined) {
          p(`${where}: resources.${kind}.${resource} is not set`);
        }
      }
    }
  }

  const server = (pod.containers || []).find((c) => c.name === 'servicemanager');
  if (server === undefined) {
    p(`${name}: no container named servicemanager`);
    return;
  }
  const where = `${name} container servicemanager`;
  const env = {};
  const envFrom = {};
  for (const variable of server.env || []) {
    env[variable.name] = variable.value;
    envFrom[variable.name] = variable.valueFrom;
  }
  const ports = server.ports || [];
  const portNamed = (n) => ports.find((port) => port.name === n);

  // gRPC: the listen address, the container port, the probes and the Services
  // all name one port.
  const grpcPort = portOf(env.SERVICEMANAGER_LISTEN);
  if (grpcPort === undefined || !/^0\.0\.0\.0:|^\[::\]:/.test(env.SERVICEMANAGER_LISTEN)) {
    p(`${where}: SERVICEMANAGER_LISTEN must listen on all addresses, e.g. 0.0.0.0:50051 (got ${env.SERVICEMANAGER_LISTEN})`);
  }
  if (!portNamed('grpc') || portNamed('grpc').containerPort !== grpcPort) {
    p(`${where}: container port "grpc" must be SERVICEMANAGER_LISTEN's port ${grpcPort}`);
  }
  // Beyond loopback the server refuses to start without TLS and auth, unless
  // told --insecure; their files must be on mounted volumes.
  const tls = Boolean(env.SERVICEMANAGER_TLS_CERT);
  const auth = Boolean(env.SERVICEMANAGER_AUTH_TOKENS_FILE);
  if (tls !== Boolean(env.SERVICEMANAGER_TLS_KEY)) {
    p(`${where}: SERVICEMANAGER_TLS_CERT and SERVICEMANAGER_TLS_KEY are set together or not at all`);
  }
  if (!(tls && auth) && env.SERVICEMANAGER_INSECURE !== 'true') {
    p(`${where}: SERVICEMANAGER_LISTEN is not loopback and TLS (SERVICEMANAGER_TLS_CERT, SERVICEMANAGER_TLS_KEY) and auth (SERVICEMANAGER_AUTH_TOKENS_FILE) are not both set, so SERVICEMANAGER_INSECURE must be "true" (the server refuses to start otherwise)`);
  }
  for (const variable of ['SERVICEMANAGER_TLS_CERT', 'SERVICEMANAGER_TLS_KEY',
                          'SERVICEMANAGER_TLS_CLIENT_CA', 'SERVICEMANAGER_AUTH_TOKENS_FILE']) {
    const file = env[variable];
    if (file && !(server.volumeMounts || []).some((m) => file.startsWith(`${m.mountPath}/`))) {
      p(`${where}: ${variable} ${file} is not on a mounted volume`);
    }
  }
  // The kubelet's gRPC probes speak plaintext: with TLS on they need the
  // plaintext health port.
  const healthPort = portOf(env.SERVICEMANAGER_HEALTH_LISTEN);
  if (tls && healthPort === undefined) {
    p(`${where}: with TLS on, the probes need SERVICEMANAGER_HEALTH_LISTEN (the kubelet's gRPC probe cannot speak TLS)`);
  }
  if (healthPort !== undefined &&
      (!portNamed('health') || portNamed('health').containerPort !== healthPort)) {
    p(`${where}: container port "health" must be SERVICEMANAGER_HEALTH_LISTEN's port ${healthPort}`);
  }
  const probePort = healthPort === undefined ? grpcPort : healthPort;
  for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = server[probeName];
    if (probe === undefined && probeName === 'startupProbe') {
      continue;
    }
    if (!probe || !probe.grpc) {
      p(`${where}: ${probeName} must be a native gRPC probe (grpc.health.v1.Health)`);
      continue;
    }
    if (probe.exec || probe.httpGet || probe.tcpSocket) {
      p(`${where}: ${probeName} must have only the grpc handler`);
    }
    if (probe.grpc.port !== probePort) {
      p(`${where}: ${probeName}.grpc.port is ${probe.grpc.port}; the gRPC health port is ${probePort}`);
    }
    if (probe.grpc.service !== undefined && probe.grpc.service !== '') {
      p(`${where}: ${probeName}.grpc.service must be "" (the server's overall health)`);
    }
  }

  const metricsListen = env.SERVICEMANAGER_METRICS_LISTEN;
  if (metricsListen) {
    const metrics = portNamed('metrics');
    if (!metrics || metrics.containerPort !== portOf(metricsListen)) {
      p(`${where}: container port "metrics" must be SERVICEMANAGER_METRICS_LISTEN's port ${portOf(metricsListen)}`);
    }
  }
  // App Runner's API: its port, and beyond loopback the access keys without
  // which the server refuses to start, on a mounted volume.
  const awsListen = env.SERVICEMANAGER_AWS_LISTEN;
  if (awsListen) {
    const aws = portNamed('apprunner');
    if (!aws || aws.containerPort !== portOf(awsListen)) {
      p(`${where}: container port "apprunner" must be SERVICEMANAGER_AWS_LISTEN's port ${portOf(awsListen)}`);
    }
    const credentials = env.SERVICEMANAGER_AWS_CREDENTIALS_FILE;
    const loopback = /^(127\.[0-9.]+|localhost|\[::1\]):\d+$/.test(awsListen);
    if (!loopback && !credentials) {
      p(`${where}: SERVICEMANAGER_AWS_LISTEN ${awsListen} is not loopback, so SERVICEMANAGER_AWS_CREDENTIALS_FILE must be set (the server refuses to start without it)`);
    } else if (credentials &&
               !(server.volumeMounts || []).some((m) => credentials.startsWith(`${m.mountPath}/`))) {
      p(`${where}: SERVICEMANAGER_AWS_CREDENTIALS_FILE ${credentials} is not on a mounted volume`);
    }
  }
  if (env.SERVICEMANAGER_LOG_FORMAT !== 'json') {
    p(`${where}: SERVICEMANAGER_LOG_FORMAT must be json`);
  }

  if (sqlite) {
    checkSqliteVolume(workload, server, env, p);
  } else {
    checkPostgres(workload, server, env, envFrom, p);
  }

  // The kubelet kills the container terminationGracePeriodSeconds after
  // SIGTERM; the server needs its gRPC grace plus the worker stop and the
  // database close.
  const graceText = env.SERVICEMANAGER_SHUTDOWN_GRACE_SECONDS;
  const grace = graceText === undefined ? DEFAULT_SHUTDOWN_GRACE_SECONDS : Number(graceText);
  const kill = pod.terminationGracePeriodSeconds;
  if (!Number.isInteger(grace) || grace < 0) {
    p(`${where}: SERVICEMANAGER_SHUTDOWN_GRACE_SECONDS must be a whole number of seconds (got ${graceText})`);
  } else if (!Number.isInteger(kill)) {
    p(`${name}: terminationGracePeriodSeconds must be a whole number of seconds (got ${JSON.stringify(kill)})`);
  } else if (grace + MIN_SHUTDOWN_MARGIN_SECONDS > kill) {
    p(`${name}: terminationGracePeriodSeconds is ${kill}; it must be at least the server's shutdown grace ${grace} + ${MIN_SHUTDOWN_MARGIN_SECONDS}`);
  }
  return { labels, grpcPort, ports };
}

// SQLite: the database lives on the volume claim, the only writable place
// besides /tmp.
function checkSqliteVolume(sts, server, env, p) {
  const spec = sts.spec || {};
  const name = nameOf(sts);
  const where = `${name} container servicemanager`;
  const dataDir = env.SERVICEMANAGER_DATA_DIR;
  const claims = spec.volumeClaimTemplates || [];
  const mount = (server.volumeMounts || []).find((m) => m.mountPath === dataDir);
  const claim = mount && claims.find((c) => c.metadata && c.metadata.name === mount.name);
  if (!dataDir) {
    p(`${where}: SERVICEMANAGER_DATA_DIR is not set`);
  } else if (!claim) {
    p(`${where}: SERVICEMANAGER_DATA_DIR ${dataDir} is not a mount of a volumeClaimTemplate`);
  } else {
    const claimSpec = claim.spec || {};
    const modes = claimSpec.accessModes || [];
    if (modes.length !== 1 || !['ReadWriteOnce', 'ReadWriteOncePod'].includes(modes[0])) {
      p(`${name}: volume claim ${claim.metadata.name} must be ReadWriteOnce or ReadWriteOncePod`);
    }
    if (!claimSpec.resources || !claimSpec.resources.requests ||
        !claimSpec.resources.requests.storage) {
      p(`${name}: volume claim ${claim.metadata.name} requests no storage`);
    }
    if (mount.readOnly) {
      p(`${where}: the data volume is mounted read-only`);
    }
  }
}

// PostgreSQL: the URL (with its password) comes from a Secret, and the pods
// keep nothing on a volume of their own: replicas share only the database.
function checkPostgres(deployment, server, env, envFrom, p) {
  const name = nameOf(deployment);
  const where = `${name} container servicemanager`;
  const secret = (envFrom.SERVICEMANAGER_DATABASE_URL || {}).secretKeyRef;
  if (env.SERVICEMANAGER_DATABASE_URL !== undefined) {
    p(`${where}: SERVICEMANAGER_DATABASE_URL must come from a Secret (valueFrom.secretKeyRef), not a value in the manifest`);
  } else if (!secret || !secret.name || !secret.key) {
    p(`${where}: SERVICEMANAGER_DATABASE_URL must be set from a Secret (valueFrom.secretKeyRef with name and key)`);
  } else if (secret.optional) {
    p(`${where}: SERVICEMANAGER_DATABASE_URL's secretKeyRef must not be optional (without it the server would fall back to SQLite on the pod's disk)`);
  }
  const spec = deployment.spec || {};
  if (spec.volumeClaimTemplates !== undefined) {
    p(`${name}: volumeClaimTemplates: the replicas share the database, not volumes`);
  }
  for (const volume of ((spec.template || {}).spec || {}).volumes || []) {
    if (volume.persistentVolumeClaim || volume.ephemeral) {
      p(`${name}: volume ${volume.name} is a volume claim; the replicas share the database, not volumes`);
    }
  }
}

// Returns the problems found in the rendered objects (schema and policy).
function validateObjects(objects) {
  const problems = [];
  const p = (message) => problems.push(message);
  for (const object of objects) {
    for (const error of schemaErrors(object)) {
      p(`${nameOf(object)}: schema: ${error}`);
    }
  }

  const ofKind = (kind) => objects.filter((o) => o && o.kind === kind);
  const workloads = [...ofKind('StatefulSet'), ...ofKind('Deployment')];
  if (workloads.length !== 1) {
    p(`expected exactly one StatefulSet (SQLite) or Deployment (PostgreSQL), found ${workloads.map(nameOf).join(', ') || 'none'}`);
    return problems;
  }
  const workload = workloads[0];
  const sqlite = workload.kind === 'StatefulSet';
  const pod = checkPod(workload, p);
  if (pod === undefined) {
    return problems;
  }
  const { labels, grpcPort, ports } = pod;
  const isPodPort = (port) =>
    ports.some((c) => c.name === port || c.containerPort === port);

  const services = ofKind('Service');
  for (const service of services) {
    const spec = service.spec || {};
    if (!selects(spec.selector, labels)) {
      p(`${nameOf(service)}: spec.selector does not select the ${workload.kind}'s pods`);
    }
    for (const port of spec.ports || []) {
      if (!isPodPort(port.targetPort ?? port.port)) {
        p(`${nameOf(service)}: port ${port.name} targets ${port.targetPort}, which the pod does not expose`);
      }
    }
  }
  const servesGrpc = (service) => (service.spec.ports || []).some((port) =>
    port.targetPort === 'grpc' || (port.targetPort ?? port.port) === grpcPort);
  if (!services.some((s) => s.spec && s.spec.clusterIP !== 'None' && servesGrpc(s))) {
    p('no Service (other than the headless one) exposes the gRPC port');
  }
  const governing = services.find((s) => (s.metadata || {}).name === workload.spec.serviceName);
  if (sqlite && (!governing || (governing.spec || {}).clusterIP !== 'None')) {
    p(`${nameOf(workload)}: serviceName ${workload.spec.serviceName} must be a headless Service in these manifests`);
  }

  const budgets = ofKind('PodDisruptionBudget').filter((b) => b.spec && selects(b.spec.selector, labels));
  if (budgets.length !== 1) {
    p(`expected one PodDisruptionBudget selecting the ${workload.kind}'s pods, found ${budgets.length}`);
  }
  for (const budget of budgets) {
    const has = (field) => budget.spec[field] !== undefined && budget.spec[field] !== null;
    if (has('minAvailable') === has('maxUnavailable')) {
      p(`${nameOf(budget)}: set exactly one of minAvailable and maxUnavailable`);
    }
    if (!sqlite && budget.spec.minAvailable !== POSTGRES_MIN_AVAILABLE) {
      p(`${nameOf(budget)}: minAvailable is ${JSON.stringify(budget.spec.minAvailable)}; with ${POSTGRES_REPLICAS} replicas it must be ${POSTGRES_MIN_AVAILABLE}, so that evictions take one replica at a time`);
    }
  }

  const policies = ofKind('NetworkPolicy').filter((n) => n.spec && selects(n.spec.podSelector, labels));
  if (policies.length === 0) {
    p(`no NetworkPolicy selects the ${workload.kind}'s pods`);
  }
  const restrictsIngress = (policy) => (policy.spec.policyTypes || []).includes('Ingress');
  if (policies.length > 0 && !policies.some(restrictsIngress)) {
    p(`no NetworkPolicy selecting the ${workload.kind}'s pods has Ingress in its policyTypes, so every port is open`);
  }
  let grpcAllowed = false;
  for (const policy of policies) {
    if ((policy.spec.ingress || []).length > 0 && !restrictsIngress(policy)) {
      p(`${nameOf(policy)}: policyTypes must include Ingress (its ingress rules are ignored otherwise)`);
    }
    for (const rule of policy.spec.ingress || []) {
      if (!rule.ports || rule.ports.length === 0) {
        p(`${nameOf(policy)}: an ingress rule allows every port; name the ports`);
      }
      for (const port of rule.ports || []) {
        if (!isPodPort(port.port)) {
          p(`${nameOf(policy)}: ingress port ${port.port} is not a port of the pod`);
        }
        if (port.port === 'grpc' || port.port === grpcPort) {
          grpcAllowed = true;
        }
      }
    }
  }
  if (policies.length > 0 && !grpcAllowed) {
    p('no NetworkPolicy ingress rule allows the gRPC port');
  }
  // Once a policy restricts egress, only what some policy lets out may leave:
  // on PostgreSQL the server needs DNS and the database's port.
  if (!sqlite && policies.some((n) => (n.spec.policyTypes || []).includes('Egress'))) {
    const letsOut = (port, protocol) => policies.some((n) => (n.spec.egress || []).some((rule) =>
      !rule.ports || rule.ports.length === 0 || rule.ports.some((allowed) =>
        allowed.port === port && (allowed.protocol || 'TCP') === protocol)));
    if (!letsOut(POSTGRES_PORT, 'TCP')) {
      p(`no NetworkPolicy egress rule lets the server reach PostgreSQL (TCP ${POSTGRES_PORT})`);
    }
    if (!letsOut(53, 'UDP')) {
      p('no NetworkPolicy egress rule lets the server resolve the database host (UDP 53)');
    }
  }
  return problems;
}

const objectKey = (o) =>
  `${o && o.kind}/${o && o.metadata && o.metadata.namespace}/${o && o.metadata && o.metadata.name}`;

// The first place where `a` and `b` differ, as a path, or undefined.
function firstDifference(a, b, where = '') {
  if (isDeepStrictEqual(a, b)) {
    return undefined;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' &&
      Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a)
      ? [...Array(Math.max(a.length, b.length)).keys()]
      : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const found = firstDifference(a[key], b[key], `${where}/${key}`);
      if (found !== undefined) {
        return found;
      }
    }
  }
  return `${where || '/'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

// Compares two renders as sets of objects (kubectl sorts by kind, the lite
// renderer keeps the order of `resources:`); returns the differences.
function compareRenders(lite, kubectl) {
  const sorted = (objects) => [...objects].sort((x, y) =>
    objectKey(x) < objectKey(y) ? -1 : objectKey(x) > objectKey(y) ? 1 : 0);
  const a = sorted(lite);
  const b = sorted(kubectl);
  const differences = [];
  const keysA = a.map(objectKey);
  const keysB = b.map(objectKey);
  for (const key of keysA.filter((k) => !keysB.includes(k))) {
    differences.push(`${key}: only in the kustomize-lite render`);
  }
  for (const key of keysB.filter((k) => !keysA.includes(k))) {
    differences.push(`${key}: only in the kubectl kustomize render`);
  }
  if (differences.length === 0) {
    a.forEach((object, i) => {
      const found = firstDifference(object, b[i]);
      if (found !== undefined) {
        differences.push(`${objectKey(object)} differs at ${found} (kustomize-lite vs kubectl)`);
      }
    });
  }
  return differences;
}

function validateKustomization(dir) {
  return validateObjects(renderKustomization(dir));
}

function main(dirs) {
  if (dirs.length === 0) {
    console.error('usage: node validate-manifests.js KUSTOMIZATION_DIR...');
    return 2;
  }
  const kubectl = kubectlKustomize();
  if (kubectl.usable) {
    console.log(`kubectl's kustomize ${kubectl.version} found: comparing each render with it`);
  } else {
    console.log(`note: ${kubectl.reason}; checking the kustomize-lite render alone`);
  }
  let failed = false;
  for (const dir of dirs) {
    const problems = [];
    let objects;
    try {
      objects = renderKustomization(dir);
    } catch (error) {
      problems.push(`kustomize-lite: ${error.message}`);
    }
    if (objects !== undefined && kubectl.usable) {
      let real;
      try {
        real = renderWithKubectl(dir);
      } catch (error) {
        problems.push(`kubectl kustomize failed where kustomize-lite did not: ${error.message}`);
      }
      for (const difference of real === undefined ? [] : compareRenders(objects, real)) {
        problems.push(`render: ${difference}`);
      }
    }
    if (objects !== undefined) {
      problems.push(...validateObjects(objects));
    }
    if (problems.length === 0) {
      console.log(`ok: ${dir}`);
    } else {
      failed = true;
      console.log(`FAILED: ${dir}`);
      for (const problem of problems) {
        console.log(`  ${problem}`);
      }
    }
  }
  return failed ? 1 : 0;
}

module.exports = {
  parse, validateObjects, validateKustomization, compareRenders, objectKey, kubectlKustomize,
  renderWithKubectl,
};

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  }
}
