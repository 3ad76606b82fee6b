/**
 * docker/entrypoint.sh, run for real against a scratch root (ENTRYPOINT_TEST_ROOT) with a
 * fake buildkite-agent that records what it was given: its arguments, the git credential
 * helper, and the identities the ssh-agent it inherited holds.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ENTRYPOINT = resolve(import.meta.dirname!, "../../docker/entrypoint.sh");

const FAKE_AGENT = `#!/usr/bin/env bash
out=$FAKE_AGENT_OUT
printf '%s\\0' "$@" >"$out/args"
printf '%s' "$$" >"$out/pid"
git config --global --get credential.helper >"$out/credential-helper" || true
if [[ -n \${SSH_AUTH_SOCK:-} ]]; then
  ssh-add -l >"$out/ssh-identities" 2>&1 || true
fi
exit "$FAKE_AGENT_EXIT"
`;

interface Scenario {
  gitCredentials?: string;
  /** Private key in OpenSSH format, written 0440 as a Secret volume would mount it. */
  sshKey?: string;
  /** Create /local; with a string, also a stale /local/buildkite-agent holding it. */
  local?: boolean | string;
  args?: string[];
  agentExit?: number;
}

interface Outcome {
  status: number | null;
  stderr: string;
  root: string;
  tmp: string;
  /** The entrypoint's process id. */
  pid: number;
  /** The agent's process id; undefined when it never ran. */
  agentPid?: number;
  /** Arguments the agent received; undefined when it never ran. */
  args?: string[];
  credentialHelper?: string;
  sshIdentities?: string;
}

function run(scenario: Scenario): Outcome {
  const dir = mkdtempSync(join(tmpdir(), "entrypoint-test-"));
  const root = join(dir, "root");
  const home = join(dir, "home");
  const tmp = join(dir, "tmp");
  const out = join(dir, "out");
  for (const d of [join(root, "usr/local/bin"), join(root, "secrets"), home, tmp, out]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(root, "usr/local/bin/buildkite-agent"), FAKE_AGENT, { mode: 0o755 });
  if (scenario.gitCredentials !== undefined) {
    writeFileSync(join(root, "secrets/git-credentials"), scenario.gitCredentials, { mode: 0o440 });
  }
  if (scenario.sshKey !== undefined) {
    writeFileSync(join(root, "secrets/ssh-key"), scenario.sshKey);
    chmodSync(join(root, "secrets/ssh-key"), 0o440);
  }
  if (scenario.local !== undefined && scenario.local !== false) {
    mkdirSync(join(root, "local"));
    if (typeof scenario.local === "string") {
      writeFileSync(join(root, "local/buildkite-agent"), scenario.local, { mode: 0o755 });
    }
  }

  const result = spawnSync(ENTRYPOINT, scenario.args ?? [], {
    // A clean environment, so that the developer's own ssh-agent or git config cannot leak in.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      TMPDIR: tmp,
      ENTRYPOINT_TEST_ROOT: root,
      FAKE_AGENT_OUT: out,
      FAKE_AGENT_EXIT: String(scenario.agentExit ?? 0),
    },
    encoding: "utf8",
  });

  const read = (name: string) =>
    existsSync(join(out, name)) ? readFileSync(join(out, name), "utf8") : undefined;
  const args = read("args");
  return {
    status: result.status,
    pid: result.pid,
    agentPid: read("pid") === undefined ? undefined : Number(read("pid")),
    stderr: result.stderr,
    root,
    tmp,
    args: args === undefined ? undefined : args.split("\0").slice(0, -1),
    credentialHelper: read("credential-helper"),
    sshIdentities: read("ssh-identities"),
  };
}

/**
 * Stops the ssh-agents this scenario started and removes its files. An ssh-agent detaches
 * from the script, so it is recognised by the scenario's own TMPDIR in its environment.
 */
function cleanup(outcome: Outcome): number {
  let stopped = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "utf8");
    } catch {
      continue;
    }
    if (environ.split("\0").includes(`TMPDIR=${outcome.tmp}`)) {
      process.kill(Number(pid), "SIGTERM");
      stopped++;
    }
  }
  rmSync(resolve(outcome.root, ".."), { recursive: true, force: true });
  return stopped;
}

function generateKey(): { privateKey: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), "entrypoint-key-"));
  try {
    const key = join(dir, "id_ed25519");
    const gen = spawnSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "entrypoint-test",
      "-f",
      key,
    ]);
    assert.equal(gen.status, 0, String(gen.stderr));
    const fingerprint =
      spawnSync("ssh-keygen", ["-l", "-f", `${key}.pub`], { encoding: "utf8" }).stdout.split(
        " ",
      )[1];
    return { privateKey: readFileSync(key, "utf8"), fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("with nothing mounted, the agent runs with its arguments untouched and nothing configured", () => {
  const args = [
    "start",
    "--tags",
    "queue=a b,os=linux",
    "",
    "two\nlines",
    "*",
    "$HOME",
    "'quoted'",
  ];
  const outcome = run({ args });
  try {
    assert.equal(outcome.status, 0, outcome.stderr);
    assert.deepEqual(outcome.args, args);
    assert.equal(outcome.credentialHelper, "");
    assert.equal(outcome.sshIdentities, undefined, "no ssh-agent without a key");
    assert.equal(existsSync(join(outcome.root, "local")), false, "/local is never created");
  } finally {
    cleanup(outcome);
  }
});

Deno.test("the agent replaces the entrypoint's process, so the kubelet's signals reach it", () => {
  const outcome = run({ args: ["start"] });
  try {
    assert.equal(outcome.agentPid, outcome.pid);
  } finally {
    cleanup(outcome);
  }
});

Deno.test("the agent's exit status is the container's", () => {
  for (const agentExit of [1, 37, 255]) {
    const outcome = run({ args: ["bootstrap", "--phases", "checkout"], agentExit });
    try {
      assert.equal(outcome.status, agentExit);
      assert.deepEqual(outcome.args, ["bootstrap", "--phases", "checkout"]);
    } finally {
      cleanup(outcome);
    }
  }
});

Deno.test("mounted git credentials become git's credential store", () => {
  const outcome = run({ gitCredentials: "https://user:secret@git.example.com\n", args: ["start"] });
  try {
    assert.equal(outcome.status, 0, outcome.stderr);
    assert.equal(
      outcome.credentialHelper,
      `store --file=${join(outcome.root, "secrets/git-credentials")}\n`,
    );
  } finally {
    cleanup(outcome);
  }
});

Deno.test("a mounted ssh key, even 0440, is held by an ssh-agent the agent inherits", () => {
  const { privateKey, fingerprint } = generateKey();
  const outcome = run({ sshKey: privateKey, args: ["start"] });
  try {
    assert.equal(outcome.status, 0, outcome.stderr);
    assert.ok(outcome.sshIdentities?.includes(fingerprint), `ssh-add -l: ${outcome.sshIdentities}`);
    assert.deepEqual(
      readdirSync(outcome.tmp).filter((f) => !f.startsWith("ssh-")),
      [],
      "the private copy of the key is removed",
    );
    assert.equal(outcome.credentialHelper, "", "no credential store without credentials");
  } finally {
    assert.equal(cleanup(outcome), 1, "exactly one ssh-agent");
  }
});

Deno.test("an unusable ssh key stops the container before the agent runs", () => {
  const outcome = run({ sshKey: "not a key\n", args: ["start"] });
  try {
    assert.notEqual(outcome.status, 0);
    assert.equal(outcome.args, undefined, "the agent must not run");
    assert.deepEqual(
      readdirSync(outcome.tmp).filter((f) => !f.startsWith("ssh-")),
      [],
      "the private copy of the key is removed",
    );
  } finally {
    cleanup(outcome);
  }
});

Deno.test("with /local mounted, the agent binary is shared there, executable, replacing a stale one", () => {
  for (const local of [true, "stale binary"]) {
    const outcome = run({ local, args: ["bootstrap"] });
    try {
      assert.equal(outcome.status, 0, outcome.stderr);
      const shared = join(outcome.root, "local/buildkite-agent");
      assert.equal(readFileSync(shared, "utf8"), FAKE_AGENT);
      assert.equal(statSync(shared).mode & 0o777, 0o755);
      assert.deepEqual(
        readdirSync(join(outcome.root, "local")),
        ["buildkite-agent"],
        "no temporary file left",
      );
      assert.deepEqual(outcome.args, ["bootstrap"]);
    } finally {
      cleanup(outcome);
    }
  }
});
