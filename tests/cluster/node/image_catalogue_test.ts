import assert from "node:assert/strict";
import { containerArgv, globMatch, ImageCatalogueSchema, resolveImage } from "./image_catalogue.ts";

const catalogue = ImageCatalogueSchema.parse({
  images: [{
    repository: "quay.io/muhlba91/buildkite-agent",
    files: { "/entrypoint.sh": "/repo/docker/entrypoint.sh" },
    entrypoint: ["/entrypoint.sh"],
    cmd: ["start"],
  }],
  presentOnNode: ["quay.io/muhlba91/buildkite-agent:*", "docker.io/library/busybox:1.*"],
});

Deno.test("resolveImage finds the project's image under any tag", () => {
  for (const tag of ["2.0.0", "latest", "dev-abc"]) {
    const image = resolveImage(catalogue, `quay.io/muhlba91/buildkite-agent:${tag}`);
    assert.deepEqual(image.config.entrypoint, ["/entrypoint.sh"]);
    assert.equal(image.present, true);
    assert.equal(image.unpullable, false);
  }
});

Deno.test("resolveImage runs other images on the host with the default config", () => {
  const image = resolveImage(catalogue, "alpine:3.20");
  assert.deepEqual(image.config.cmd, ["/bin/sh"]);
  assert.deepEqual(image.config.files, {});
  assert.equal(image.present, false);
  assert.match(image.config.env.PATH, /\/usr\/bin/);
});

Deno.test("resolveImage marks registry.invalid images unpullable", () => {
  assert.equal(resolveImage(catalogue, "registry.invalid/nope:1").unpullable, true);
  assert.equal(resolveImage(catalogue, "registry.valid/nope:1").unpullable, false);
});

Deno.test("resolveImage counts pulled images as present", () => {
  assert.equal(resolveImage(catalogue, "busybox:1.36").present, true);
  assert.equal(resolveImage(catalogue, "busybox:latest").present, false);
  const pulled = new Set(["docker.io/library/busybox:latest"]);
  assert.equal(resolveImage(catalogue, "busybox", pulled).present, true);
});

Deno.test("globMatch treats only * as special", () => {
  assert.equal(globMatch("a.b:*", "a.b:1"), true);
  assert.equal(globMatch("a.b:*", "axb:1"), false);
  assert.equal(globMatch("x", "x"), true);
  assert.equal(globMatch("x", "xy"), false);
});

Deno.test("containerArgv follows Kubernetes' command and args rules", () => {
  const image = { files: {}, entrypoint: ["/entry"], cmd: ["start"], env: {} };
  const cases: [{ command?: string[]; args?: string[] }, string[]][] = [
    [{}, ["/entry", "start"]],
    [{ args: ["bootstrap"] }, ["/entry", "bootstrap"]],
    [{ command: ["sh", "-c", "true"] }, ["sh", "-c", "true"]],
    [{ command: ["sh"], args: ["-c", "exit 3"] }, ["sh", "-c", "exit 3"]],
  ];
  for (const [container, argv] of cases) assert.deepEqual(containerArgv(container, image), argv);
});
