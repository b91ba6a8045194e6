'use strict';
// Lints deploy/Dockerfile without a Docker engine: the syntax checks of
// dockerfile-utils (the validator behind editors' Dockerfile support), every
// one of them an error, then the rules the image is meant to follow (policy
// below).
//
//   node lint-dockerfile.js DOCKERFILE
//
// Prints every problem and exits 1 if there is any.

const fs = require('node:fs');
const { DockerfileParser } = require('dockerfile-ast');
const { validate, ValidationSeverity } = require('dockerfile-utils');

const RUNTIME_BASE = 'debian:bookworm-slim';
// Packages that build code; none belongs in the runtime image.
const BUILD_TOOLS = new Set([
  'build-essential', 'clang', 'cmake', 'g++', 'gcc', 'make', 'pkg-config',
  'protobuf-compiler', 'protobuf-compiler-grpc',
]);

function syntaxProblems(text) {
  const every = ValidationSeverity.ERROR;
  const settings = {
    deprecatedMaintainer: every, directiveCasing: every,
    emptyContinuationLine: every, instructionCasing: every,
    instructionCmdMultiple: every, instructionEntrypointMultiple: every,
    instructionHealthcheckMultiple: every, instructionJSONInSingleQuotes: every,
    instructionWorkdirRelative: every,
  };
  return validate(text, settings).map(
    (d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

// Splits the instructions into stages, each starting with its FROM.
function stagesOf(text) {
  const stages = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      stages.push({ from: instruction, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

const argumentsOf = (instruction) =>
  (instruction.getArgumentsContent() || '').replace(/\\\n/g, ' ');
const lineOf = (instruction) => instruction.getRange().start.line + 1;

// The packages named by `apt-get install` in one RUN, without the options.
function installedPackages(run) {
  const packages = [];
  for (const command of argumentsOf(run).split(/&&|;|\|\|/)) {
    const words = command.trim().split(/\s+/);
    const at = words.indexOf('install');
    if (at > 0 && words[at - 1] === 'apt-get') {
      packages.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
    }
  }
  return packages;
}

function policyProblems(text) {
  const problems = [];
  const p = (message) => problems.push(message);
  const stages = stagesOf(text);
  if (stages.length < 2) {
    p(`a multi-stage build is expected (build, then runtime); found ${stages.length} stage(s)`);
    return problems;
  }
  const stageNames = stages.map((s) => s.from.getBuildStage()).filter(Boolean);
  for (const { from } of stages) {
    const image = from.getImageName();
    if (stageNames.includes(image)) {
      continue;
    }
    const tag = from.getImageTag();
    if (!from.getImageDigest() && (!tag || tag === 'latest')) {
      p(`line ${lineOf(from)}: FROM ${from.getImage()} needs an explicit tag or digest, not latest`);
    }
  }

  const build = stages.slice(0, -1);
  const usesProjectDeps = build.some((stage) => stage.instructions.some(
    (i) => i.getKeyword() === 'RUN' && /tools\/install-deps\.sh/.test(argumentsOf(i))));
  if (!usesProjectDeps) {
    p('no build stage runs tools/install-deps.sh (the Debian packages developers and CI build with)');
  }

  const runtime = stages[stages.length - 1];
  const base = `${runtime.from.getImageName()}:${runtime.from.getImageTag()}`;
  if (base !== RUNTIME_BASE) {
    p(`line ${lineOf(runtime.from)}: the runtime stage must start FROM ${RUNTIME_BASE} (got ${runtime.from.getImage()})`);
  }
  const of = (keyword) => runtime.instructions.filter((i) => i.getKeyword() === keyword);

  for (const run of of('RUN')) {
    const args = argumentsOf(run);
    const packages = installedPackages(run);
    if (packages.length === 0) {
      continue;
    }
    if (!/--no-install-recommends/.test(args)) {
      p(`line ${lineOf(run)}: apt-get install in the runtime stage needs --no-install-recommends`);
    }
    if (!/apt-get update/.test(args) || !/rm -rf \/var\/lib\/apt\/lists/.test(args)) {
      p(`line ${lineOf(run)}: apt-get update, install and rm -rf /var/lib/apt/lists belong in one RUN`);
    }
    for (const name of packages) {
      if (name.endsWith('-dev') || BUILD_TOOLS.has(name)) {
        p(`line ${lineOf(run)}: ${name} is a build package; the runtime stage takes runtime libraries only`);
      }
    }
  }

  const users = of('USER');
  if (users.length === 0) {
    p('the runtime stage has no USER; it would run as root');
  } else {
    const user = argumentsOf(users[users.length - 1]).trim();
    const uid = user.split(':')[0];
    if (!/^\d+$/.test(uid) || Number(uid) === 0) {
      p(`line ${lineOf(users[users.length - 1])}: USER ${user} must be a non-zero numeric UID (Kubernetes runAsNonRoot checks the number)`);
    }
  }

  const copied = of('COPY')
    .filter((c) => c.getFromFlag() && stageNames.includes(c.getFromFlag().getValue()))
    .map(argumentsOf).join(' ');
  for (const program of ['servicemanager', 'smctl']) {
    if (!new RegExp(`\\b${program}\\b`).test(copied)) {
      p(`the runtime stage does not COPY --from the build stage the program ${program}`);
    }
  }

  const entrypoints = of('ENTRYPOINT');
  if (entrypoints.length !== 1 || !/^\s*\[/.test(argumentsOf(entrypoints[0]))) {
    p('the runtime stage needs one ENTRYPOINT in exec form ["..."], so the server is PID 1 and gets SIGTERM');
  }
  if (of('ADD').length > 0) {
    p('use COPY, not ADD, in the runtime stage');
  }
  return problems;
}

function lint(text) {
  return [...syntaxProblems(text), ...policyProblems(text)];
}

function main(args) {
  if (args.length !== 1) {
    console.error('usage: node lint-dockerfile.js DOCKERFILE');
    return 2;
  }
  const problems = lint(fs.readFileSync(args[0], 'utf8'));
  if (problems.length === 0) {
    console.log(`ok: ${args[0]}`);
    return 0;
  }
  console.log(`FAILED: ${args[0]}`);
  for (const problem of problems) {
    console.log(`  ${problem}`);
  }
  return 1;
}

module.exports = { lint };

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  }
}
