'use strict';
// Proves that the deploy checks can fail: each case breaks one thing in a copy
// of the real manifests or Dockerfile and expects the problem to be reported.
// Without this, a validator that accepted everything would look like a pass.
//
//   node --test selfcheck.test.js

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const manifests = require('./validate-manifests');
const { renderKustomization } = require('./kustomize-lite');
const { lint } = require('./lint-dockerfile');

const root = path.resolve(__dirname, '..', '..');
const k8s = path.join(root, 'deploy', 'k8s');
const dockerfile = fs.readFileSync(path.join(root, 'deploy', 'Dockerfile'), 'utf8');

const rendered = renderKustomization(path.join(k8s, 'overlays', 'dev'));
const renderedPostgres = renderKustomization(path.join(k8s, 'overlays', 'postgres'));

// Validates a copy of the rendered dev overlay after `change` edited it and
// expects a problem matching `expected`.
function rejects(expected, change) {
  const objects = structuredClone(rendered);
  const find = (kind) => objects.find((o) => o.kind === kind);
  change({
    objects,
    sts: find('StatefulSet'),
    pod: find('StatefulSet').spec.template.spec,
    container: find('StatefulSet').spec.template.spec.containers[0],
  });
  const problems = manifests.validateObjects(objects);
  assert.ok(problems.some((problem) => expected.test(problem)),
            `expected a problem matching ${expected}, got:\n${problems.join('\n')}`);
}

const setEnv = (container, name, value) => {
  container.env.find((e) => e.name === name).value = value;
};
const drop = (objects, kind) => objects.splice(objects.findIndex((o) => o.kind === kind), 1);

test('the real manifests pass', () => {
  for (const dir of ['base', 'overlays/dev', 'overlays/postgres']) {
    assert.deepEqual(manifests.validateKustomization(path.join(k8s, dir)), []);
  }
});

test('a misspelled field in a source file fails the command', () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-k8s-'));
  try {
    fs.cpSync(k8s, copy, { recursive: true });
    const file = path.join(copy, 'base', 'statefulset.yaml');
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /terminationGracePeriodSeconds:/);
    fs.writeFileSync(file, text.replace('terminationGracePeriodSeconds:',
                                        'terminationGracePeriodSecond:'));
    const run = spawnSync(process.execPath,
                          [path.join(__dirname, 'validate-manifests.js'),
                           path.join(copy, 'overlays', 'dev')],
                          { encoding: 'utf8' });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /unknown field "terminationGracePeriodSecond"/);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

// Renders a copy of deploy/k8s after `change(read, write)` edited its files
// (paths relative to deploy/k8s); returns the objects of the overlay.
function renderCopy(change, overlay = 'dev') {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-k8s-'));
  try {
    fs.cpSync(k8s, copy, { recursive: true });
    const read = (file) => fs.readFileSync(path.join(copy, file), 'utf8');
    const write = (file, text) => fs.writeFileSync(path.join(copy, file), text);
    change(read, write);
    return renderKustomization(path.join(copy, 'overlays', overlay));
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

// Edits one file of the copy by a string replacement that must apply.
const edit = (file, from, to) => (read, write) => {
  const text = read(file);
  assert.ok(text.includes(from), `${file} does not contain ${JSON.stringify(from)}`);
  write(file, text.replace(from, to));
};

test('kustomize-lite applies the dev overlay', () => {
  const find = (kind) => rendered.find((o) => o.kind === kind);
  const container = find('StatefulSet').spec.template.spec.containers[0];
  assert.deepEqual(container.env[0], { name: 'SERVICEMANAGER_WORKER_DELAY_MS', value: '50' });
  assert.equal(container.env.filter((e) => e.name === 'SERVICEMANAGER_LISTEN').length, 1);
  assert.deepEqual(container.resources, {
    requests: { cpu: '50m', memory: '64Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  });
  assert.equal(container.image, 'servicemanager:dev');
  const budget = find('PodDisruptionBudget').spec;
  assert.equal(budget.maxUnavailable, 1);
  assert.ok(!('minAvailable' in budget));
  for (const object of rendered.filter((o) => o.kind !== 'Namespace')) {
    assert.equal(object.metadata.namespace, 'servicemanager-dev', manifests.objectKey(object));
  }
  assert.equal(find('Namespace').metadata.namespace, undefined);
});

test('kustomize-lite rejects what it does not implement', () => {
  assert.throws(() => renderCopy(edit('overlays/dev/kustomization.yaml', 'namespace: servicemanager-dev',
                                      'namespace: servicemanager-dev\ncommonLabels:\n  team: x')),
                /field "commonLabels" is not supported by kustomize-lite/);
  assert.throws(() => renderCopy(edit('overlays/dev/kustomization.yaml', '- path: statefulset-patch.yaml',
                                      '- path: statefulset-patch.yaml\n    target:\n      kind: StatefulSet')),
                /patches entry field "target" is not supported/);
  assert.throws(() => renderCopy(edit('overlays/dev/statefulset-patch.yaml', '          env:',
                                      '          args: [--verbose]\n          env:')),
                /list spec\.template\.spec\.containers\[\]\.args, whose strategic-merge rule kustomize-lite does not know/);
  assert.throws(() => renderCopy(edit('overlays/dev/poddisruptionbudget-patch.yaml', 'spec:',
                                      '$patch: replace\nspec:')),
                /patch directive \$patch is not supported/);
});

test('kustomize-lite rejects a patch whose target is missing', () => {
  assert.throws(() => renderCopy(edit('overlays/dev/statefulset-patch.yaml', 'name: servicemanager',
                                      'name: service-manager')),
                /patch for apps\/v1 StatefulSet service-manager matches 0 resources/);
  assert.throws(() => renderCopy(edit('overlays/dev/poddisruptionbudget-patch.yaml', 'apiVersion: policy/v1',
                                      'apiVersion: policy/v1beta1')),
                /patch for policy\/v1beta1 PodDisruptionBudget servicemanager matches 0 resources/);
});

test('kustomize-lite applies the postgres overlay', () => {
  const kinds = renderedPostgres.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'Deployment/servicemanager',
    'NetworkPolicy/servicemanager',
    'NetworkPolicy/servicemanager-database',
    'PodDisruptionBudget/servicemanager',
    'Service/servicemanager',
  ]);
  const budget = renderedPostgres.find((o) => o.kind === 'PodDisruptionBudget').spec;
  assert.equal(budget.minAvailable, 2);
  assert.equal(budget.unhealthyPodEvictionPolicy, 'AlwaysAllow');
});

test('kustomize-lite: $patch: delete removes exactly its target', () => {
  assert.throws(() => renderCopy(edit('overlays/postgres/statefulset-delete.yaml', 'name: servicemanager',
                                      'name: service-manager'), 'postgres'),
                /patch for apps\/v1 StatefulSet service-manager matches 0 resources/);
  assert.throws(() => renderCopy(edit('overlays/postgres/statefulset-delete.yaml', '$patch: delete',
                                      '$patch: remove'), 'postgres'),
                /patch directive \$patch is not supported by kustomize-lite with the value "remove"/);
  const kept = renderCopy(edit('overlays/postgres/kustomization.yaml',
                               '  - path: headless-service-delete.yaml\n', ''), 'postgres');
  assert.deepEqual(kept.filter((o) => o.kind === 'Service').map((o) => o.metadata.name).sort(),
                   ['servicemanager', 'servicemanager-headless']);
  assert.equal(kept.filter((o) => o.kind === 'StatefulSet').length, 0);
});

// The postgres overlay's pod copies the base's; only the database may differ.
test("the postgres overlay's pod is the base's but for the database", () => {
  const base = renderKustomization(path.join(k8s, 'base'));
  const pod = (objects, kind) => structuredClone(objects.find((o) => o.kind === kind).spec.template);
  const sqlite = pod(base, 'StatefulSet');
  const postgres = pod(renderedPostgres, 'Deployment');
  const [sqliteServer, postgresServer] = [sqlite, postgres].map((t) => t.spec.containers[0]);
  const withoutDatabase = (server, names) => {
    server.env = server.env.filter((e) => !names.includes(e.name));
    server.volumeMounts = server.volumeMounts.filter((m) => m.name !== 'data');
  };
  withoutDatabase(sqliteServer, ['SERVICEMANAGER_DATA_DIR']);
  withoutDatabase(postgresServer, ['SERVICEMANAGER_DATABASE_URL']);
  delete postgres.spec.affinity;
  assert.deepEqual(postgres, sqlite);
});

// Validates a copy of the rendered postgres overlay after `change` edited it
// and expects a problem matching `expected`.
function postgresRejects(expected, change) {
  const objects = structuredClone(renderedPostgres);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  change({
    objects,
    deployment,
    pod: deployment.spec.template.spec,
    container,
    databaseUrl: container.env.find((e) => e.name === 'SERVICEMANAGER_DATABASE_URL'),
  });
  const problems = manifests.validateObjects(objects);
  assert.ok(problems.some((problem) => expected.test(problem)),
            `expected a problem matching ${expected}, got:\n${problems.join('\n')}`);
}

test('policy: the PostgreSQL layout', () => {
  postgresRejects(/replicas is 1; it must be 3/, ({ deployment }) => { deployment.spec.replicas = 1; });
  postgresRejects(/DATABASE_URL must come from a Secret/, ({ databaseUrl }) => {
    delete databaseUrl.valueFrom;
    databaseUrl.value = 'postgresql://servicemanager:secret@db/servicemanager';
  });
  postgresRejects(/DATABASE_URL must be set from a Secret/, ({ container }) => {
    container.env = container.env.filter((e) => e.name !== 'SERVICEMANAGER_DATABASE_URL');
  });
  postgresRejects(/secretKeyRef must not be optional/, ({ databaseUrl }) => {
    databaseUrl.valueFrom.secretKeyRef.optional = true;
  });
  postgresRejects(/need a podAntiAffinity term/, ({ pod }) => { delete pod.affinity; });
  postgresRejects(/need a podAntiAffinity term/, ({ pod }) => {
    pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]
      .podAffinityTerm.topologyKey = 'topology.kubernetes.io/zone';
  });
  postgresRejects(/minAvailable is 1; with 3 replicas it must be 2/, ({ objects }) => {
    objects.find((o) => o.kind === 'PodDisruptionBudget').spec.minAvailable = 1;
  });
  postgresRejects(/volume data is a volume claim/, ({ pod }) => {
    pod.volumes.push({ name: 'data', persistentVolumeClaim: { claimName: 'servicemanager-data' } });
  });
  postgresRejects(/unknown field "volumeClaimTemplates"/, ({ deployment }) => {
    deployment.spec.volumeClaimTemplates = [{ metadata: { name: 'data' } }];
  });
  postgresRejects(/volumeClaimTemplates: the replicas share the database/, ({ deployment }) => {
    deployment.spec.volumeClaimTemplates = [{ metadata: { name: 'data' } }];
  });
  postgresRejects(/no NetworkPolicy egress rule lets the server reach PostgreSQL \(TCP 5432\)/,
                  ({ objects }) => {
                    objects.splice(objects.findIndex((o) => o.metadata.name === 'servicemanager-database'), 1);
                  });
  postgresRejects(/expected exactly one StatefulSet \(SQLite\) or Deployment \(PostgreSQL\), found StatefulSet\/servicemanager, Deployment\/servicemanager/,
                  ({ objects }) => {
                    objects.unshift(rendered.find((o) => o.kind === 'StatefulSet'));
                  });
});

test('the comparison with kubectl reports differences', () => {
  const changed = structuredClone(rendered);
  changed.find((o) => o.kind === 'StatefulSet').spec.template.spec.containers[0].env.reverse();
  assert.deepEqual(manifests.compareRenders(rendered, structuredClone(rendered).reverse()), []);
  const differences = manifests.compareRenders(rendered, changed);
  assert.equal(differences.length, 1, differences.join('\n'));
  assert.match(differences[0], /StatefulSet\/servicemanager-dev\/servicemanager differs at \/spec\/template\/spec\/containers\/0\/env\/0/);
  assert.match(manifests.compareRenders(rendered, rendered.slice(1)).join('\n'),
               /only in the kustomize-lite render/);
});

test('schema: unknown fields, wrong types and unknown kinds', () => {
  rejects(/unknown field "terminationGracePeriodSecond"/, ({ pod }) => {
    pod.terminationGracePeriodSecond = pod.terminationGracePeriodSeconds;
  });
  rejects(/securityContext: unknown field "readOnlyRootFileSystem"/, ({ container }) => {
    container.securityContext.readOnlyRootFileSystem = true;
  });
  rejects(/\/spec\/replicas must be integer/, ({ sts }) => {
    sts.spec.replicas = '1';
  });
  rejects(/grpc\/port must be integer/, ({ container }) => {
    container.livenessProbe.grpc.port = 'grpc';
  });
  rejects(/limits\/memory must match format "quantity"/, ({ container }) => {
    container.resources.limits.memory = '256 MB';
  });
  rejects(/unknown apiVersion\/kind policy\/v1beta2\/PodDisruptionBudget/, ({ objects }) => {
    objects.find((o) => o.kind === 'PodDisruptionBudget').apiVersion = 'policy/v1beta2';
  });
});

test('policy: one replica on a ReadWriteOnce volume', () => {
  rejects(/replicas is 2; it must be 1/, ({ sts }) => { sts.spec.replicas = 2; });
  rejects(/must be ReadWriteOnce/, ({ sts }) => {
    sts.spec.volumeClaimTemplates[0].spec.accessModes = ['ReadWriteMany'];
  });
  rejects(/SERVICEMANAGER_DATA_DIR \/data is not a mount/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_DATA_DIR', '/data');
  });
});

test('policy: security context', () => {
  rejects(/securityContext is missing/, ({ container }) => { delete container.securityContext; });
  rejects(/readOnlyRootFilesystem must be true/, ({ container }) => {
    container.securityContext.readOnlyRootFilesystem = false;
  });
  rejects(/allowPrivilegeEscalation must be false/, ({ container }) => {
    delete container.securityContext.allowPrivilegeEscalation;
  });
  rejects(/capabilities.drop must include ALL/, ({ container }) => {
    container.securityContext.capabilities.drop = ['NET_RAW'];
  });
  rejects(/runAsNonRoot must be true/, ({ pod, container }) => {
    delete pod.securityContext.runAsNonRoot;
    delete container.securityContext.runAsNonRoot;
  });
  rejects(/runAsUser must be a non-zero UID/, ({ pod }) => { pod.securityContext.runAsUser = 0; });
  rejects(/enableServiceLinks must be false/, ({ pod }) => { delete pod.enableServiceLinks; });
});

test('policy: TLS and auth beyond loopback, or --insecure', () => {
  rejects(/SERVICEMANAGER_INSECURE must be "true"/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_INSECURE', 'false');
  });
  rejects(/SERVICEMANAGER_INSECURE must be "true"/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_TLS_CERT', '/etc/servicemanager/tls/tls.crt');
    setEnv(container, 'SERVICEMANAGER_TLS_KEY', '/etc/servicemanager/tls/tls.key');
    setEnv(container, 'SERVICEMANAGER_INSECURE', 'false');
  });
  rejects(/SERVICEMANAGER_TLS_CERT and SERVICEMANAGER_TLS_KEY are set together/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_TLS_CERT', '/etc/servicemanager/tls/tls.crt');
  });
  rejects(/SERVICEMANAGER_AUTH_TOKENS_FILE \/secrets\/tokens is not on a mounted volume/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_AUTH_TOKENS_FILE', '/secrets/tokens');
  });
  rejects(/with TLS on, the probes need SERVICEMANAGER_HEALTH_LISTEN/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_TLS_CERT', '/etc/servicemanager/tls/tls.crt');
    setEnv(container, 'SERVICEMANAGER_TLS_KEY', '/etc/servicemanager/tls/tls.key');
    container.env = container.env.filter((e) => e.name !== 'SERVICEMANAGER_HEALTH_LISTEN');
  });
});

test('policy: resources, probes and the shutdown grace', () => {
  rejects(/resources.limits.memory is not set/, ({ container }) => {
    delete container.resources.limits.memory;
  });
  rejects(/livenessProbe must be a native gRPC probe/, ({ container }) => {
    container.livenessProbe = { httpGet: { path: '/', port: 50051 } };
  });
  rejects(/readinessProbe.grpc.port is 50051; the gRPC health port is 50052/, ({ container }) => {
    container.readinessProbe.grpc.port = 50051;
  });
  rejects(/container port "health" must be SERVICEMANAGER_HEALTH_LISTEN's port 50053/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_HEALTH_LISTEN', '0.0.0.0:50053');
  });
  rejects(/container port "grpc" must be SERVICEMANAGER_LISTEN's port 50052/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_LISTEN', '0.0.0.0:50052');
  });
  rejects(/container port "apprunner" must be SERVICEMANAGER_AWS_LISTEN's port 8081/, ({ container }) => {
    setEnv(container, 'SERVICEMANAGER_AWS_LISTEN', '0.0.0.0:8081');
  });
  rejects(/SERVICEMANAGER_AWS_CREDENTIALS_FILE must be set/, ({ container }) => {
    container.env = container.env.filter((e) => e.name !== 'SERVICEMANAGER_AWS_CREDENTIALS_FILE');
  });
  rejects(/SERVICEMANAGER_AWS_CREDENTIALS_FILE \/etc\/servicemanager\/aws\/credentials is not on a mounted volume/,
          ({ container }) => {
            container.volumeMounts = container.volumeMounts.filter((m) => m.name !== 'aws-credentials');
          });
  rejects(/terminationGracePeriodSeconds is 15; it must be at least the server's shutdown grace 30/,
          ({ container }) => { setEnv(container, 'SERVICEMANAGER_SHUTDOWN_GRACE_SECONDS', '30'); });
  rejects(/terminationGracePeriodSeconds is 11; it must be at least/, ({ pod }) => {
    pod.terminationGracePeriodSeconds = 11;
  });
});

test('policy: Services, disruption budget and network policy', () => {
  rejects(/Service\/servicemanager: spec.selector does not select/, ({ objects }) => {
    objects.find((o) => o.metadata.name === 'servicemanager' && o.kind === 'Service')
      .spec.selector = { 'app.kubernetes.io/name': 'service-manager' };
  });
  rejects(/expected one PodDisruptionBudget/, ({ objects }) => drop(objects, 'PodDisruptionBudget'));
  rejects(/set exactly one of minAvailable and maxUnavailable/, ({ objects }) => {
    objects.find((o) => o.kind === 'PodDisruptionBudget').spec.minAvailable = 1;
  });
  rejects(/no NetworkPolicy selects/, ({ objects }) => drop(objects, 'NetworkPolicy'));
  rejects(/ingress port grcp is not a port of the pod/, ({ objects }) => {
    objects.find((o) => o.kind === 'NetworkPolicy').spec.ingress[0].ports[0].port = 'grcp';
  });
});

// Expects lint to report `expected` for the Dockerfile after `change`.
function dockerfileRejects(expected, change) {
  const changed = change(dockerfile);
  assert.notEqual(changed, dockerfile, 'the change did not apply');
  const problems = lint(changed);
  assert.ok(problems.some((problem) => expected.test(problem)),
            `expected a problem matching ${expected}, got:\n${problems.join('\n')}`);
}

test('the real Dockerfile passes', () => {
  assert.deepEqual(lint(dockerfile), []);
});

test('Dockerfile: syntax and policy', () => {
  dockerfileRejects(/Unknown instruction: RUNN/, (t) => t.replace('RUN groupadd', 'RUNN groupadd'));
  dockerfileRejects(/USER root must be a non-zero numeric UID/, (t) => t.replace('USER 10001:10001', 'USER root'));
  dockerfileRejects(/no USER; it would run as root/, (t) => t.replace(/^USER .*\n/m, ''));
  dockerfileRejects(/must start FROM debian:bookworm-slim/,
                    (t) => t.replace('FROM debian:bookworm-slim', 'FROM debian:bookworm'));
  dockerfileRejects(/needs an explicit tag/, (t) => t.replace('FROM debian:bookworm AS build', 'FROM debian AS build'));
  dockerfileRejects(/g\+\+ is a build package/, (t) => t.replace('libsqlite3-0 \\', 'libsqlite3-0 g++ \\'));
  dockerfileRejects(/ENTRYPOINT in exec form/,
                    (t) => t.replace('ENTRYPOINT ["/usr/local/bin/servicemanager"]',
                                     'ENTRYPOINT /usr/local/bin/servicemanager'));
  dockerfileRejects(/a multi-stage build is expected/,
                    (t) => t.slice(t.indexOf('FROM debian:bookworm-slim')));
});
