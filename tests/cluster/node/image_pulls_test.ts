import assert from "node:assert/strict";
import { ImageCatalogueSchema } from "./image_catalogue.ts";
import { ImageManager } from "./image_pulls.ts";

const catalogue = ImageCatalogueSchema.parse({ presentOnNode: ["docker.io/library/alpine:3.20"] });

Deno.test("an unpullable image fails, then backs off with doubling delays", () => {
  const images = new ImageManager(catalogue);
  const container = {
    name: "c",
    image: "registry.invalid/nope:1",
    imagePullPolicy: "IfNotPresent" as const,
  };
  const first = images.ensure("pod", container, 0);
  assert.equal(first.kind, "pullFailed");
  assert.deepEqual(first.events.map((event) => event.reason), ["Pulling", "Failed", "Failed"]);
  assert.match(
    first.events[1].message,
    /^Failed to pull image "registry.invalid\/nope:1": .*no such host$/,
  );
  const waiting = images.ensure("pod", container, 5_000);
  assert.equal(waiting.kind, "backOff");
  assert.ok(waiting.kind === "backOff" && waiting.retryAt === 10_000);
  assert.match(
    waiting.message,
    /^Back-off pulling image "registry.invalid\/nope:1": ErrImagePull: /,
  );
  assert.deepEqual(waiting.events.map((event) => event.message), [
    'Back-off pulling image "registry.invalid/nope:1"',
    "Error: ImagePullBackOff",
  ]);
  assert.equal(images.ensure("pod", container, 10_000).kind, "pullFailed");
  const second = images.ensure("pod", container, 10_001);
  assert.ok(second.kind === "backOff" && second.retryAt === 30_000);
  assert.equal(images.ensure("other-pod", container, 10_001).kind, "pullFailed");
});

Deno.test("pull policies decide between present, pull and ErrImageNeverPull", () => {
  const images = new ImageManager(catalogue);
  const present = images.ensure("p", {
    name: "c",
    image: "alpine:3.20",
    imagePullPolicy: "IfNotPresent",
  }, 0);
  assert.equal(present.kind, "ready");
  assert.equal(
    present.events[0].message,
    'Container image "alpine:3.20" already present on machine',
  );
  const never = images.ensure(
    "p",
    { name: "c", image: "busybox:1.36", imagePullPolicy: "Never" },
    0,
  );
  assert.equal(never.kind, "neverPull");
  assert.equal(
    never.kind === "neverPull" && never.message,
    'Container image "busybox:1.36" is not present with pull policy of Never',
  );
  const pulled = images.ensure("p", { name: "c", image: "busybox", imagePullPolicy: "Always" }, 0);
  assert.deepEqual(pulled.events.map((event) => event.reason), ["Pulling", "Pulled"]);
  assert.equal(pulled.events[0].message, 'Pulling image "busybox:latest"');
  assert.equal(
    images.ensure("p", { name: "c", image: "busybox:latest", imagePullPolicy: "Never" }, 0).kind,
    "ready",
  );
});

Deno.test("a malformed reference is InvalidImageName", () => {
  const outcome = new ImageManager(catalogue).ensure("p", { name: "c", image: "UPPER/Case::x" }, 0);
  assert.equal(outcome.kind, "invalid");
  assert.deepEqual(outcome.events.map((event) => event.reason), ["InspectFailed", "Failed"]);
});
