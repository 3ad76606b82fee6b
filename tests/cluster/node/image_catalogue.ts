/**
 * The node agent's image catalogue: since there is no container runtime, an image is
 * emulated as files overlaid into the container's root (an overlay of the host), plus the
 * entrypoint, cmd, env and working directory an image config would carry.
 *
 * The catalogue is a JSON file (the control plane writes `images.json` in its state
 * directory):
 *
 * ```json
 * {
 *   "images": [{
 *     "repository": "quay.io/muhlba91/buildkite-agent",
 *     "files": { "/entrypoint.sh": "/repo/docker/entrypoint.sh",
 *                "/usr/local/bin/buildkite-agent": "/cache/buildkite-agent" },
 *     "entrypoint": ["/entrypoint.sh"], "cmd": ["start"],
 *     "env": { "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
 *   }],
 *   "default": { "cmd": ["/bin/sh"], "env": { "PATH": "…" } },
 *   "unpullable": "^registry\\.invalid/",
 *   "presentOnNode": ["quay.io/muhlba91/buildkite-agent:*"]
 * }
 * ```
 *
 * - `images[].repository` is a normalized repository (`docker.io/library/alpine` for
 *   `alpine`); an entry matches every tag and digest of it. `files` maps a path in the
 *   container to a host file, bind-mounted read-only.
 * - Any other image uses `default`: the container's command runs on the host's files.
 * - `unpullable`: a regular expression over the normalized reference
 *   (`registry.invalid/nope:1`); matching images fail to pull (`ErrImagePull`, then
 *   `ImagePullBackOff`).
 * - `presentOnNode`: patterns (`*` matches anything) over normalized references of the
 *   images already on the node: `IfNotPresent` does not pull them, `Never` accepts only
 *   them (and those pulled since the node agent started).
 *
 * @module
 */

import { z } from "zod";
import { type ImageReference, parseImageReference } from "./image_reference.ts";

const ImageConfigSchema = z.object({
  files: z.record(z.string(), z.string()).default({}),
  entrypoint: z.array(z.string()).default([]),
  cmd: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  workingDir: z.string().optional(),
});

/** The PATH an image gets when its entry does not set one (Docker's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The catalogue file's schema. */
export const ImageCatalogueSchema = z.object({
  images: z.array(ImageConfigSchema.extend({ repository: z.string() })).default([]),
  default: ImageConfigSchema.default({
    files: {},
    entrypoint: [],
    cmd: ["/bin/sh"],
    env: { PATH: DEFAULT_PATH },
  }),
  unpullable: z.string().default("^registry\\.invalid/"),
  presentOnNode: z.array(z.string()).default([]),
});

/** A parsed image catalogue. */
export type ImageCatalogue = z.infer<typeof ImageCatalogueSchema>;

/** What an image provides to a container. */
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** An image as the node sees it. */
export interface ResolvedImage {
  reference: ImageReference;
  config: ImageConfig;
  /** Pulling it fails. */
  unpullable: boolean;
  /** It is on the node already. */
  present: boolean;
}

/** Reads a catalogue file; throws naming the file and the schema error. */
export async function readImageCatalogue(path: string): Promise<ImageCatalogue> {
  const parsed = ImageCatalogueSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
  if (!parsed.success) {
    throw new Error(`image catalogue ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Resolves a container's image; throws the kubelet's `InvalidImageName` message when the
 * reference does not parse. `pulled` lists references pulled since the node started.
 */
export function resolveImage(
  catalogue: ImageCatalogue,
  image: string,
  pulled: ReadonlySet<string> = new Set(),
): ResolvedImage {
  const reference = parseImageReference(image);
  const entry = catalogue.images.find((candidate) => candidate.repository === reference.repository);
  const config = entry ?? catalogue.default;
  return {
    reference,
    config: { ...config, env: { PATH: DEFAULT_PATH, ...config.env } },
    unpullable: new RegExp(catalogue.unpullable).test(reference.normalized),
    present: pulled.has(reference.normalized) ||
      catalogue.presentOnNode.some((pattern) => globMatch(pattern, reference.normalized)),
  };
}

/** Whether `text` matches `pattern`, where `*` stands for any run of characters. */
export function globMatch(pattern: string, text: string): boolean {
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(text);
}

/**
 * The argv a container runs, by Kubernetes' rules: `command` replaces the image's
 * entrypoint (and drops its cmd), `args` replaces the image's cmd.
 */
export function containerArgv(
  container: { command?: string[]; args?: string[] },
  image: ImageConfig,
): string[] {
  if (container.command?.length) return [...container.command, ...(container.args ?? [])];
  return [...image.entrypoint, ...(container.args?.length ? container.args : image.cmd)];
}
