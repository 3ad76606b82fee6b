/**
 * The images the local node runs, built here without Docker and never pulled from the
 * internet: each is one uncompressed layer (a tar of a root file system assembled from this
 * machine's Debian packages and the pinned binaries), an image config and an OCI manifest,
 * pushed to the cluster's registry on 127.0.0.1. containerd sends every registry host there
 * (`docker.io`, `quay.io`, `registry.k8s.io`, `registry.invalid`, …), so manifests keep their
 * usual image names, and an image that was never pushed fails to pull for real.
 *
 * - `busybox`: Debian's busybox-static, with every applet linked (and GNU `date`, for `%N`):
 *   the stand-in for `alpine:3`, `alpine:3.20` and `busybox:1.36` (and their `latest`).
 * - `agent`: the project's own image as the Dockerfile describes it: `buildkite-agent`,
 *   git, ssh, CA certificates, bash and tini, entrypoint `docker/entrypoint.sh`.
 * - `pause`: the sandbox of every pod (`scripts/go/pause`).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Binaries } from "./binaries.ts";
import { REPOSITORY_ROOT } from "./binaries.ts";
import { DEFAULT_INIT_IMAGE } from "../../src/version.ts";

/** The sandbox image the node's containerd is told to use. */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1";

/** The names the busybox stand-in is pushed under. */
export const BUSYBOX_IMAGES = [
  "docker.io/library/alpine:3",
  "docker.io/library/alpine:3.20",
  "docker.io/library/alpine:latest",
  "docker.io/library/busybox:1.36",
  "docker.io/library/busybox:latest",
];

/** The project's image, under the name the plugin's default `init-image` has. */
export const AGENT_IMAGES = [DEFAULT_INIT_IMAGE];

/** The directories the agent image has under `/`, as the official buildkite/agent image. */
const AGENT_DIRECTORIES = ["buildkite/builds", "buildkite/hooks", "buildkite/plugins"];

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One built layer: an uncompressed tar, so its digest is also its diff id. */
export interface Layer {
  path: string;
  digest: string;
  size: number;
}

/** What an image runs, as its config carries it. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  /** The user it runs as, `uid:gid`. */
  user?: string;
}

/** A built image, ready to push under any name. */
export interface BuiltImage {
  layer: Layer;
  config: ImageConfig;
}

/** The images of the local node, built into `dir`. */
export interface NodeImages {
  busybox: BuiltImage;
  agent: BuiltImage;
  pause: BuiltImage;
}

/** Builds the three images' layers in `dir` (a fresh directory). */
export async function buildNodeImages(dir: string, binaries: Binaries): Promise<NodeImages> {
  const busyboxRoot = `${dir}/busybox-root`;
  await busyboxRootFs(busyboxRoot);
  const agentRoot = `${dir}/agent-root`;
  await agentRootFs(agentRoot, binaries);
  const pauseRoot = `${dir}/pause-root`;
  await Deno.mkdir(pauseRoot, { recursive: true });
  await Deno.copyFile(binaries.pause, `${pauseRoot}/pause`);
  const [busybox, agent, pause] = await Promise.all([
    tarLayer(busyboxRoot, `${dir}/busybox.tar`),
    tarLayer(agentRoot, `${dir}/agent.tar`),
    tarLayer(pauseRoot, `${dir}/pause.tar`),
  ]);
  for (const root of [busyboxRoot, agentRoot, pauseRoot]) {
    await Deno.remove(root, { recursive: true });
  }
  return {
    busybox: { layer: busybox, config: { cmd: ["/bin/sh"], env: [`PATH=${PATH}`] } },
    agent: {
      layer: agent,
      config: {
        entrypoint: ["/usr/bin/tini", "-g", "--", "/entrypoint.sh"],
        cmd: ["start"],
        env: [
          `PATH=${PATH}`,
          // What the official buildkite/agent image's configuration file says.
          "BUILDKITE_BUILD_PATH=/buildkite/builds",
          "BUILDKITE_HOOKS_PATH=/buildkite/hooks",
          "BUILDKITE_PLUGINS_PATH=/buildkite/plugins",
        ],
        // As the Dockerfile's final stage: its buildkite-agent user.
        user: "10000:10000",
      },
    },
    pause: { layer: pause, config: { entrypoint: ["/pause"] } },
  };
}

/** Pushes every node image under its names to the registry at `registry` (host:port). */
export async function pushNodeImages(registry: string, images: NodeImages): Promise<void> {
  const pushes: [BuiltImage, string][] = [
    [images.pause, PAUSE_IMAGE],
    ...BUSYBOX_IMAGES.map((name): [BuiltImage, string] => [images.busybox, name]),
    ...AGENT_IMAGES.map((name): [BuiltImage, string] => [images.agent, name]),
  ];
  for (const [image, name] of pushes) await pushImage(registry, name, image);
}

/** `docker.io/library/alpine:3.20` → `{ repository: "library/alpine", tag: "3.20" }`. */
export function registryPath(name: string): { repository: string; tag: string } {
  const colon = name.lastIndexOf(":");
  const slash = name.lastIndexOf("/");
  const [reference, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [
    name,
    "latest",
  ];
  const parts = reference.split("/");
  const hasHost = parts.length > 1 && /[.:]|^localhost$/.test(parts[0]);
  const path = hasHost ? parts.slice(1) : parts;
  if (path.length === 1 && (!hasHost || parts[0] === "docker.io")) path.unshift("library");
  return { repository: path.join("/"), tag };
}

/** Pushes one image under `name` (any registry host: the local registry serves them all). */
export async function pushImage(registry: string, name: string, image: BuiltImage): Promise<void> {
  const { repository, tag } = registryPath(name);
  const base = `http://${registry}/v2/${repository}`;
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {
      Env: image.config.env,
      Entrypoint: image.config.entrypoint,
      Cmd: image.config.cmd,
      WorkingDir: image.config.workingDir ?? "/",
      User: image.config.user,
    },
    rootfs: { type: "layers", diff_ids: [image.layer.digest] },
  }));
  const configDigest = sha256(config);
  await pushBlob(base, image.layer.digest, () => Deno.readFile(image.layer.path));
  await pushBlob(base, configDigest, () => Promise.resolve(config));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: image.layer.digest,
      size: image.layer.size,
    }],
  });
  const response = await fetch(`${base}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  await expectStatus(response, 201, `pushing the manifest of ${name}`);
}

async function pushBlob(
  base: string,
  digest: string,
  content: () => Promise<Uint8Array>,
): Promise<void> {
  const head = await fetch(`${base}/blobs/${digest}`, { method: "HEAD" });
  await head.body?.cancel();
  if (head.ok) return;
  const started = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
  await expectStatus(started, 202, `starting the upload of ${digest}`);
  const location = new URL(started.headers.get("location") ?? "", base);
  location.searchParams.set("digest", digest);
  const body = await content();
  const finished = await fetch(location, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: body as Uint8Array<ArrayBuffer>,
  });
  await expectStatus(finished, 201, `uploading ${digest}`);
}

async function expectStatus(response: Response, status: number, doing: string): Promise<void> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`registry: ${doing}: ${response.status} ${text.slice(0, 500)}`);
  }
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function tarLayer(root: string, out: string): Promise<Layer> {
  // deno-fmt-ignore
  await run("tar", [
    "--create", "--file", out, "--directory", root, "--sort=name", "--numeric-owner",
    "--owner=0", "--group=0", "--mtime=@0", ".",
  ]);
  const hash = createHash("sha256");
  using file = await Deno.open(out);
  for await (const chunk of file.readable) hash.update(chunk);
  return { path: out, digest: `sha256:${hash.digest("hex")}`, size: (await Deno.stat(out)).size };
}

/** A merged-/usr root with busybox and its applets, a root user and the usual directories. */
async function busyboxRootFs(root: string): Promise<void> {
  for (const dir of ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc", "root", "home"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  }
  for (const dir of ["bin", "sbin", "lib", "lib64"]) {
    await Deno.symlink(`usr/${dir}`, `${root}/${dir}`);
  }
  for (const dir of ["tmp", "var/tmp"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    await Deno.chmod(`${root}/${dir}`, 0o1777);
  }
  await Deno.copyFile(await busyboxBinary(), `${root}/usr/bin/busybox`);
  const applets = (await run(`${root}/usr/bin/busybox`, ["--list"])).split("\n").filter(Boolean);
  for (const applet of applets) {
    if (applet !== "busybox") await Deno.symlink("busybox", `${root}/usr/bin/${applet}`);
  }
  await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\n");
  // Debian's busybox `date` has no `%N`, which Alpine's has (the benchmark times a step's end
  // by its container's clock): GNU date stands in, with what it loads.
  await copyReplacing("/usr/bin/date", `${root}/usr/bin/date`);
  await copyLibraries(root, ["/usr/bin/date"]);
}

/** Copies into `root` every library that the ELF files `programs` load, at the same paths. */
async function copyLibraries(root: string, programs: string[]): Promise<void> {
  for (const library of await sharedLibraries(programs)) {
    const target = `${root}${library}`;
    if (await Deno.lstat(target).then(() => true, () => false)) continue;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(library, target);
  }
}

// Debian's busybox (not -static) also installs /bin/busybox, linked against the host's libc.
async function busyboxBinary(): Promise<string> {
  const path = "/bin/busybox";
  const exists = await Deno.stat(path).then(() => true, () => false);
  const dynamic = exists && (await run("ldd", [path]).then(() => true, () => false));
  if (exists && !dynamic) return path;
  throw new Error(
    "busybox-static is needed to build the node's images: apt-get install busybox-static",
  );
}

// Host programs the agent image carries, with every library they load.
const AGENT_PROGRAMS = [
  "/usr/bin/bash",
  "/usr/bin/git",
  "/usr/bin/ssh",
  "/usr/bin/ssh-agent",
  "/usr/bin/ssh-add",
];

/** The busybox root plus what the Dockerfile's image has. */
async function agentRootFs(root: string, binaries: Binaries): Promise<void> {
  await busyboxRootFs(root);
  const elves: string[] = [];
  for (const program of AGENT_PROGRAMS) {
    await copyReplacing(program, `${root}${program}`);
    elves.push(program);
  }
  await Deno.mkdir(`${root}/usr/lib/git-core`, { recursive: true });
  for await (const entry of Deno.readDir("/usr/lib/git-core")) {
    const from = `/usr/lib/git-core/${entry.name}`;
    if (entry.isSymlink) {
      await Deno.symlink(await Deno.readLink(from), `${root}${from}`);
    } else if (entry.isFile) {
      await Deno.copyFile(from, `${root}${from}`);
      elves.push(from);
    }
  }
  await Deno.mkdir(`${root}/usr/share/git-core`, { recursive: true });
  await run("cp", ["-a", "/usr/share/git-core/templates", `${root}/usr/share/git-core/`]);
  await Deno.mkdir(`${root}/etc/ssl/certs`, { recursive: true });
  await Deno.copyFile(
    "/etc/ssl/certs/ca-certificates.crt",
    `${root}/etc/ssl/certs/ca-certificates.crt`,
  );
  await copyReplacing(await tiniStatic(), `${root}/usr/bin/tini`);
  await Deno.mkdir(`${root}/usr/local/bin`, { recursive: true });
  await Deno.copyFile(binaries.buildkiteAgent, `${root}/usr/local/bin/buildkite-agent`);
  await Deno.copyFile(`${REPOSITORY_ROOT}/docker/entrypoint.sh`, `${root}/entrypoint.sh`);
  await Deno.chmod(`${root}/entrypoint.sh`, 0o755);
  for (const dir of AGENT_DIRECTORIES) await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  // The Dockerfile's buildkite-agent user, the image's user. The real image gives it its home
  // and /buildkite; the layer here is packed with every file root's, so they are writable by all.
  await Deno.writeTextFile(
    `${root}/etc/passwd`,
    "buildkite-agent:x:10000:10000::/home/buildkite-agent:/bin/sh\n",
    { append: true },
  );
  await Deno.writeTextFile(`${root}/etc/group`, "buildkite-agent:x:10000:\n", { append: true });
  await Deno.mkdir(`${root}/home/buildkite-agent`, { recursive: true });
  for (const dir of ["home/buildkite-agent", "buildkite", ...AGENT_DIRECTORIES]) {
    await Deno.chmod(`${root}/${dir}`, 0o777);
  }
  await copyLibraries(root, elves);
}

async function tiniStatic(): Promise<string> {
  for (const path of ["/usr/bin/tini-static", "/usr/bin/tini"]) {
    if (await Deno.stat(path).then(() => true, () => false)) return path;
  }
  throw new Error("tini is needed to build the agent image: apt-get install tini");
}

// Busybox links an applet under the name of a real program (`ssh` is none, `bash` may be).
async function copyReplacing(from: string, to: string): Promise<void> {
  await Deno.remove(to).catch(() => {});
  await Deno.copyFile(from, to);
}

/** The libraries (and loader) that `ldd` says the ELF files among `files` load. */
async function sharedLibraries(files: string[]): Promise<Set<string>> {
  const libraries = new Set<string>();
  for (const file of files) {
    const output = await run("ldd", [file]).catch(() => "");
    for (const match of output.matchAll(/(?:=> )?(\/[^\s]+) \(0x/g)) libraries.add(match[1]);
  }
  return libraries;
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}
