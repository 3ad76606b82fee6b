import assert from "node:assert/strict";
import { parseImageReference } from "./image_reference.ts";

Deno.test("parseImageReference normalizes names like the kubelet", () => {
  const cases: [string, string, string][] = [
    ["alpine", "docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.20", "docker.io/library/alpine", "docker.io/library/alpine:3.20"],
    ["node:20", "docker.io/library/node", "docker.io/library/node:20"],
    ["docker.io/busybox", "docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/debian:12", "docker.io/library/debian", "docker.io/library/debian:12"],
    ["bitnami/kubectl:1.31", "docker.io/bitnami/kubectl", "docker.io/bitnami/kubectl:1.31"],
    [
      "quay.io/muhlba91/buildkite-agent:2.0.0",
      "quay.io/muhlba91/buildkite-agent",
      "quay.io/muhlba91/buildkite-agent:2.0.0",
    ],
    ["localhost:5000/x/y", "localhost:5000/x/y", "localhost:5000/x/y:latest"],
    ["registry.invalid/nope:1", "registry.invalid/nope", "registry.invalid/nope:1"],
    [
      `alpine@sha256:${"a".repeat(64)}`,
      "docker.io/library/alpine",
      `docker.io/library/alpine@sha256:${"a".repeat(64)}`,
    ],
  ];
  for (const [image, repository, normalized] of cases) {
    const reference = parseImageReference(image);
    assert.equal(reference.repository, repository, image);
    assert.equal(reference.normalized, normalized, image);
  }
});

Deno.test("parseImageReference fails with the kubelet's InvalidImageName message", () => {
  const cases: [string, string][] = [
    [
      "UPPER/Case::x",
      'Failed to apply default image tag "UPPER/Case::x": couldn\'t parse image name ' +
      '"UPPER/Case::x": invalid reference format: repository name (Case) must be lowercase',
    ],
    [
      "alpine::3",
      'Failed to apply default image tag "alpine::3": couldn\'t parse image name "alpine::3": ' +
      "invalid reference format",
    ],
    [
      "a".repeat(64),
      `Failed to apply default image tag "${"a".repeat(64)}": couldn't parse image name ` +
      `"${"a".repeat(64)}": invalid repository name (${"a".repeat(64)}), ` +
      "cannot specify 64-byte hexadecimal strings",
    ],
    [
      "alpine@sha256:abc",
      'Failed to apply default image tag "alpine@sha256:abc": couldn\'t parse image name ' +
      '"alpine@sha256:abc": invalid reference format',
    ],
  ];
  for (const [image, message] of cases) {
    assert.throws(() => parseImageReference(image), { message }, image);
  }
});
