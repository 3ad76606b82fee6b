/**
 * The Dockerfile, read statically (no Docker engine here): what it copies exists and reaches
 * the build context, its images are pinned to the versions the project tests with, it
 * compiles the program exactly as deno.json's compile task does, and the final image starts
 * docker/entrypoint.sh.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, posix, resolve } from "node:path";

const REPO = resolve(import.meta.dirname!, "../..");

interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  text: string;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; comment lines go first, as Docker drops them. */
function parseDockerfile(source: string): Stage[] {
  const lines = source.split("\n").filter((line) => !/^\s*#/.test(line));
  const logical: string[] = [];
  let pending = "";
  for (const line of lines) {
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full) logical.push(full);
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword, text] = line.match(/^(\S+)\s*(.*)$/s)!;
    const instruction = { keyword: keyword.toUpperCase(), text: text.trim() };
    if (instruction.keyword === "FROM") {
      const [image, as, name] = instruction.text.split(/\s+/);
      assert.ok(as === undefined || as.toUpperCase() === "AS", `FROM ${instruction.text}`);
      stages.push({ image, name, instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${keyword} before the first FROM`);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

function parseCopy(text: string): Copy {
  const words = text.startsWith("[") ? JSON.parse(text) as string[] : text.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift()!;
    if (flag.startsWith("--from=")) from = flag.slice("--from=".length);
  }
  return { from, sources: words.slice(0, -1), destination: words.at(-1)! };
}

function stageInstructions(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** One .dockerignore rule: Go filepath.Match syntax plus `**`, as Docker's patternmatcher. */
interface IgnoreRule {
  exclusion: boolean;
  pattern: RegExp;
}

function parseDockerignore(source: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of source.split("\n")) {
    let line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const exclusion = line.startsWith("!");
    if (exclusion) line = line.slice(1).trim();
    line = posix.normalize(line).replace(/^\/+/, "").replace(/\/+$/, "");
    assert.ok(!/[[\]\\]/.test(line), `.dockerignore: this test does not read ${raw}`);
    const body = line.split(/(\*\*\/?|\*|\?)/).map((part) => {
      if (part === "**/") return "(?:.*/)?";
      if (part === "**") return ".*";
      if (part === "*") return "[^/]*";
      if (part === "?") return "[^/]";
      return part.replace(/[.+^${}()|]/g, "\\$&");
    }).join("");
    rules.push({ exclusion, pattern: new RegExp(`^${body}$`) });
  }
  return rules;
}

/** Whether Docker sends a path to the build: the last rule matching it or a parent decides. */
function inContext(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) ignored = !rule.exclusion;
  }
  return !ignored;
}

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: REPO, encoding: "utf8" });
}

const stages = parseDockerfile(readFileSync(join(REPO, "Dockerfile"), "utf8"));
const ignoreRules = parseDockerignore(readFileSync(join(REPO, ".dockerignore"), "utf8"));
const finalStage = stages.at(-1)!;
const denoJson = JSON.parse(readFileSync(join(REPO, "deno.json"), "utf8"));
const packageJson = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
const buildBinaries = readFileSync(join(REPO, "scripts/build-binaries"), "utf8");

Deno.test("every COPY from the context names something in the repository that .dockerignore lets through", () => {
  const copies = stages.flatMap((stage) =>
    stageInstructions(stage, "COPY").map((i) => parseCopy(i.text))
  )
    .filter((copy) => copy.from === undefined);
  assert.ok(copies.length > 0);
  for (const { sources } of copies) {
    for (const source of sources) {
      const path = posix.normalize(source).replace(/\/+$/, "");
      assert.ok(existsSync(join(REPO, path)), `COPY ${source}: not in the repository`);
      assert.ok(inContext(ignoreRules, path), `COPY ${source}: excluded by .dockerignore`);
      if (statSync(join(REPO, path)).isDirectory()) {
        const tracked = git("ls-files", "--", path).split("\n").filter(Boolean);
        const dropped = tracked.filter((file) => !inContext(ignoreRules, file));
        assert.deepEqual(dropped, [], `COPY ${source}: .dockerignore drops files under it`);
      }
    }
  }
});

Deno.test(".dockerignore keeps local state, dependencies and build output out of the context", () => {
  for (
    const path of [
      ".git/HEAD",
      "node_modules/yaml/package.json",
      "dist/kubernetes-buildkite-plugin",
      ".state/cluster/kubeconfig",
      "tests/unit/dockerfile_test.ts",
    ]
  ) {
    assert.equal(inContext(ignoreRules, path), false, path);
  }
});

Deno.test("every base image is pinned to an explicit tag, never latest", () => {
  const stageNames = new Set(stages.map((stage) => stage.name).filter(Boolean));
  for (const { image } of stages) {
    if (stageNames.has(image)) continue;
    const match = image.match(
      /^(?<repository>[^:@]+)(?::(?<tag>[^@]+))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/,
    );
    assert.ok(match, `FROM ${image}`);
    const { tag, digest } = match.groups!;
    assert.ok(tag || digest, `FROM ${image}: no tag`);
    if (tag) {
      assert.notEqual(tag, "latest", `FROM ${image}`);
      assert.match(tag, /\d+\.\d+\.\d+/, `FROM ${image}: the tag must carry a full version`);
    }
  }
});

Deno.test("the images are the versions the project builds and tests with", () => {
  const images = stages.map((stage) => stage.image);
  const denoVersion = packageJson.devDependencies.deno;
  assert.ok(
    images.includes(`denoland/deno:debian-${denoVersion}`),
    `Deno ${denoVersion}: ${images}`,
  );
  const agentVersion = buildBinaries.match(/^BUILDKITE_AGENT_VERSION=v(\S+)$/m)![1];
  assert.match(
    finalStage.image,
    new RegExp(`^buildkite/agent:${agentVersion.replaceAll(".", "\\.")}-ubuntu-`),
  );
});

Deno.test("the program is compiled by deno.json's compile task, and its output is what the image runs", () => {
  const task: string = denoJson.tasks.compile;
  const words = task.split(/\s+/);
  // `env deno`: inside `deno task`, a bare `deno` would be the npm package's bin, run as a script.
  assert.equal(words.slice(0, 3).join(" "), "env deno compile");
  const output = words[words.indexOf("--output") + 1];
  const entryPoint = words.at(-1)!;

  const runs = stages.flatMap((stage) =>
    stageInstructions(stage, "RUN").map((i) => ({ stage, text: i.text }))
  );
  assert.ok(
    runs.every(({ text }) => !/\bdeno\s+compile\b/.test(text)),
    "compile only through the task",
  );
  const compiles = runs.filter(({ text }) => /^deno task compile$/.test(text));
  assert.equal(compiles.length, 1, "exactly one `RUN deno task compile`");
  const build = compiles[0].stage;

  // The build stage must have the entry point and the task's inputs in its WORKDIR.
  const workdir = stageInstructions(build, "WORKDIR").at(-1)!.text;
  const copied = stageInstructions(build, "COPY").map((i) => parseCopy(i.text))
    .flatMap((copy) => copy.sources.map((source) => ({ ...copy, source })));
  const copiedFromContext = copied.filter((copy) => copy.from === undefined).map((copy) =>
    posix.normalize(copy.source)
  );
  for (const needed of ["deno.json", "package.json", posix.dirname(entryPoint)]) {
    assert.ok(copiedFromContext.includes(needed), `the build stage copies ${needed}`);
  }
  assert.ok(
    copied.some((copy) => copy.from !== undefined && copy.source.endsWith("/node_modules")),
    "node_modules is installed before compiling (nodeModulesDir: manual)",
  );

  const fromBuild = stageInstructions(finalStage, "COPY").map((i) => parseCopy(i.text))
    .filter((copy) => copy.from === build.name);
  assert.deepEqual(fromBuild, [{
    from: build.name,
    sources: [posix.join(workdir, output)],
    destination: "/usr/local/bin/kubernetes-buildkite-plugin",
  }]);
});

Deno.test("the final image starts the entrypoint under tini with `start`", () => {
  assert.deepEqual(stageInstructions(finalStage, "ENTRYPOINT").map((i) => JSON.parse(i.text)), [[
    "/usr/bin/tini",
    "-g",
    "--",
    "/entrypoint.sh",
  ]]);
  assert.ok(
    stageInstructions(finalStage, "RUN").some((i) => /apt-get install[^&]*\btini\b/.test(i.text)),
    "tini is installed",
  );
  assert.deepEqual(stageInstructions(finalStage, "CMD").map((i) => JSON.parse(i.text)), [[
    "start",
  ]]);
  const copies = stageInstructions(finalStage, "COPY").map((i) => parseCopy(i.text));
  assert.ok(
    copies.some((c) =>
      c.from === undefined && c.sources.join() === "docker/entrypoint.sh" &&
      c.destination === "/entrypoint.sh"
    ),
  );
});

Deno.test("the final image runs as its buildkite-agent user, the one the agent chart runs", () => {
  const users = stageInstructions(finalStage, "USER").map((i) => i.text);
  const created = stageInstructions(finalStage, "RUN").map((i) =>
    i.text.match(/useradd --uid (\d+) --gid (\d+) .*\bbuildkite-agent\b/)
  ).find(Boolean);
  assert.ok(created, "the final stage creates the buildkite-agent user");
  const [, uid, gid] = created;
  assert.notEqual(uid, "0");
  // Numeric: Kubernetes cannot check runAsNonRoot against a user name.
  assert.equal(users.at(-1), `${uid}:${gid}`, "the last USER is buildkite-agent's");
  assert.ok(
    finalStage.instructions.findIndex((i) => i.keyword === "USER" && i.text === users.at(-1)) >
      finalStage.instructions.findLastIndex((i) => i.keyword === "RUN"),
    "nothing runs as root after it",
  );
  const chart = readFileSync(join(REPO, "charts/agent/values.yaml"), "utf8");
  assert.match(chart, new RegExp(`^ {2}runAsUser: ${uid}$`, "m"));
  assert.match(chart, new RegExp(`^ {2}runAsGroup: ${gid}$`, "m"));
  // The local stand-in of this image runs as the same user, so the tests' checkouts meet it.
  const images = readFileSync(join(REPO, "tests/cluster/images.ts"), "utf8");
  assert.match(images, new RegExp(`user: "${uid}:${gid}"`));
});

Deno.test("the entrypoint is executable on disk and in git, as COPY keeps the mode it finds", () => {
  assert.equal(statSync(join(REPO, "docker/entrypoint.sh")).mode & 0o111, 0o111);
  assert.match(git("ls-files", "--stage", "--", "docker/entrypoint.sh"), /^100755 /);
});

Deno.test("the .dockerignore reader follows Docker: last match wins, a directory rule covers its files", () => {
  const rules = parseDockerignore("*\n!src/\n**/*.md\n!docs/keep.md\n/build/\n");
  const cases: [string, boolean][] = [
    ["README.md", false],
    ["src/main.ts", true],
    ["src/deep/notes.md", false],
    ["docs/keep.md", true],
    ["build/out", false],
    ["package.json", false],
  ];
  for (const [path, expected] of cases) assert.equal(inContext(rules, path), expected, path);
});
