import assert from "node:assert/strict";
import type { Pod, Secret } from "../kube_types.ts";
import { containerMounts, setUpVolumes, VolumeError, type VolumeSources } from "./volumes.ts";

const secrets: Record<string, Secret> = {
  creds: {
    metadata: { name: "creds" },
    data: { "git-credentials": btoa("https://x:y@h"), key: btoa("k") },
  },
};
const sources: VolumeSources = {
  secret: (name) => Promise.resolve(secrets[name]),
  configMap: (name) =>
    Promise.resolve(name === "ca" ? { metadata: { name }, data: { "ca.crt": "PEM" } } : undefined),
  serviceAccountToken: (audience, seconds) =>
    Promise.resolve(`token-${audience ?? "api"}-${seconds}`),
};

function pod(volumes: Pod["spec"]["volumes"]): Pod {
  return {
    metadata: { name: "p", namespace: "ns", uid: "u" },
    spec: { containers: [{ name: "c" }], volumes },
  };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function layout(dir: string) {
  return {
    podDir: `${dir}/pod`,
    claimsDir: `${dir}/claims`,
    addresses: { podIP: "127.0.0.1", hostIP: "127.0.0.1" },
    allocatable: { cpu: "2", memory: "1Gi" },
  };
}

Deno.test("setUpVolumes writes secret, projected and downward API files with their modes", async () => {
  await withDir(async (dir) => {
    const paths = await setUpVolumes(
      pod([
        {
          name: "secrets",
          secret: {
            secretName: "creds",
            defaultMode: 0o400,
            items: [{ key: "key", path: "ssh/key", mode: 0o600 }, {
              key: "git-credentials",
              path: "git-credentials",
            }],
          },
        },
        { name: "work", emptyDir: {} },
        { name: "cache", persistentVolumeClaim: { claimName: "cache" } },
        { name: "host", hostPath: { path: `${dir}/host/new`, type: "DirectoryOrCreate" } },
        {
          name: "api",
          projected: {
            sources: [
              { serviceAccountToken: { path: "token", expirationSeconds: 600 } },
              { configMap: { name: "ca", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              {
                downwardAPI: {
                  items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                },
              },
            ],
          },
        },
      ]),
      layout(dir),
      sources,
    );
    const secretDir = paths.get("secrets")!;
    assert.equal(await Deno.readTextFile(`${secretDir}/ssh/key`), "k");
    assert.equal((await Deno.stat(`${secretDir}/ssh/key`)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(`${secretDir}/git-credentials`), "https://x:y@h");
    assert.equal((await Deno.stat(`${secretDir}/git-credentials`)).mode! & 0o777, 0o400);
    assert.equal((await Deno.stat(paths.get("work")!)).mode! & 0o777, 0o777);
    assert.equal(paths.get("cache"), `${dir}/claims/ns/cache`);
    assert.ok((await Deno.stat(`${dir}/host/new`)).isDirectory);
    const api = paths.get("api")!;
    assert.equal(await Deno.readTextFile(`${api}/token`), "token-api-600");
    assert.equal(await Deno.readTextFile(`${api}/ca.crt`), "PEM");
    assert.equal(await Deno.readTextFile(`${api}/namespace`), "ns");
  });
});

Deno.test("setUpVolumes fails with the kubelet's FailedMount messages", async () => {
  const cases: [Pod["spec"]["volumes"], string][] = [
    [
      [{ name: "s", secret: { secretName: "absent" } }],
      'MountVolume.SetUp failed for volume "s" : secret "absent" not found',
    ],
    [
      [{ name: "s", secret: { secretName: "creds", items: [{ key: "nope", path: "x" }] } }],
      'MountVolume.SetUp failed for volume "s" : references non-existent secret key: nope',
    ],
    [
      [{ name: "c", configMap: { name: "ca", items: [{ key: "nope", path: "x" }] } }],
      'MountVolume.SetUp failed for volume "c" : configmap references non-existent config key: nope',
    ],
    [
      [{ name: "h", hostPath: { path: "/proc/version", type: "Directory" } }],
      'MountVolume.SetUp failed for volume "h" : hostPath type check failed: /proc/version is not a directory',
    ],
  ];
  await withDir(async (dir) => {
    for (const [volumes, message] of cases) {
      await assert.rejects(setUpVolumes(pod(volumes), layout(dir), sources), (error) => {
        assert.ok(error instanceof VolumeError);
        assert.equal(error.message, message);
        return true;
      });
    }
    const optional = await setUpVolumes(
      pod([{ name: "s", secret: { secretName: "absent", optional: true } }]),
      layout(dir),
      sources,
    );
    assert.deepEqual([...Deno.readDirSync(optional.get("s")!)], []);
  });
});

Deno.test("containerMounts resolves subPath and subPathExpr, parents first", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/work`);
    await Deno.writeTextFile(`${dir}/work/file`, "x");
    const mounts = await containerMounts(
      {
        name: "c",
        volumeMounts: [
          { name: "work", mountPath: "/workspace/deep/file", subPath: "file", readOnly: true },
          { name: "work", mountPath: "/workspace/per-pod", subPathExpr: "$(POD)/out" },
          { name: "work", mountPath: "/workspace" },
        ],
      },
      new Map([["work", `${dir}/work`]]),
      new Map([["POD", "p1"]]),
    );
    assert.deepEqual(mounts, [
      { source: `${dir}/work`, target: "/workspace", readOnly: false },
      { source: `${dir}/work/p1/out`, target: "/workspace/per-pod", readOnly: false },
      { source: `${dir}/work/file`, target: "/workspace/deep/file", readOnly: true },
    ]);
    assert.ok((await Deno.stat(`${dir}/work/p1/out`)).isDirectory);
    await assert.rejects(
      containerMounts(
        { name: "c", volumeMounts: [{ name: "work", mountPath: "/x", subPath: "../up" }] },
        new Map([["work", dir]]),
        new Map(),
      ),
      /must be a relative path/,
    );
  });
});
