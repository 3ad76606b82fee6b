import assert from "node:assert/strict";
import { locateBinaries, parseBinaryPaths } from "./binaries.ts";

Deno.test("parseBinaryPaths reads the build script's NAME=PATH lines", () => {
  assert.deepEqual(
    parseBinaryPaths("etcd=/c/etcd\nkube-apiserver=/c/kas\nsomething-new=/c/x\n\nnot a line\n"),
    { etcd: "/c/etcd", kubeApiserver: "/c/kas" },
  );
});

Deno.test("locateBinaries finds every binary the build script built", async () => {
  const binaries = await locateBinaries();
  for (const [name, path] of Object.entries(binaries)) {
    const directory = name === "containerd" || name === "cniPlugins";
    assert.equal((await Deno.stat(path)).isDirectory, directory, path);
  }
});

async function versionOf(program: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
}

Deno.test("every built binary reports its real version, not v0.0.0-master", async () => {
  const binaries = await locateBinaries();
  const cases: [string, string[], RegExp][] = [
    [binaries.kubeApiserver, ["--version"], /Kubernetes v1\.37\.2\b/],
    [binaries.kubeControllerManager, ["--version"], /Kubernetes v1\.37\.2\b/],
    [binaries.kubeScheduler, ["--version"], /Kubernetes v1\.37\.2\b/],
    [binaries.kubelet, ["--version"], /Kubernetes v1\.37\.2\b/],
    [binaries.kubectl, ["version", "--client"], /Client Version: v1\.37\.2\b/],
    [`${binaries.containerd}/containerd`, ["--version"], /v2\.4\.2\b/],
    [binaries.runc, ["--version"], /runc version 1\.5\.3\b/],
    [binaries.registry, ["--version"], /v3\.0\.0\b/],
    [binaries.helm, ["version", "--short"], /^v3\.22\.0\b/],
  ];
  for (const [program, args, expected] of cases) {
    assert.match(await versionOf(program, ...args), expected, program);
  }
});

Deno.test("helm without a cluster assumes the Kubernetes version of its own client", async () => {
  const { helm } = await locateBinaries();
  const chart = await Deno.makeTempDir({ prefix: "kbk-helm-version-" });
  try {
    await Deno.writeTextFile(
      `${chart}/Chart.yaml`,
      'apiVersion: v2\nname: v\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n',
    );
    await Deno.mkdir(`${chart}/templates`);
    await Deno.writeTextFile(
      `${chart}/templates/v.yaml`,
      "kind: ConfigMap\napiVersion: v1\nmetadata: {name: v}\ndata: {v: {{ .Capabilities.KubeVersion.Version | quote }}}\n",
    );
    const output = await versionOf(helm, "template", chart);
    assert.match(output, /v: "v1\.3\d\.\d+"/, output);
  } finally {
    await Deno.remove(chart, { recursive: true });
  }
});
