/**
 * Image "pulls" on the node: what a kubelet's image manager decides for a container's image
 * (`InvalidImageName`, `ErrImageNeverPull`, pull, already present) and its per-pod pull
 * back-off (10 s doubling to 5 min), with the kubelet's event texts.
 *
 * @module
 */

import type { Container } from "../kube_types.ts";
import { type ImageCatalogue, type ResolvedImage, resolveImage } from "./image_catalogue.ts";
import { goQuote } from "./image_reference.ts";

/** The outcome of making sure a container's image is on the node. */
export type ImageOutcome =
  | { kind: "ready"; image: ResolvedImage; events: ImageEvent[] }
  | { kind: "invalid"; reason: "InvalidImageName"; message: string; events: ImageEvent[] }
  | { kind: "neverPull"; reason: "ErrImageNeverPull"; message: string; events: ImageEvent[] }
  | { kind: "pullFailed"; reason: "ErrImagePull"; message: string; events: ImageEvent[] }
  | {
    kind: "backOff";
    reason: "ImagePullBackOff";
    message: string;
    retryAt: number;
    events: ImageEvent[];
  };

/** An event the image manager records. */
export interface ImageEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

const INITIAL_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 300_000;

/** The node's images and pull back-offs. */
export class ImageManager {
  #catalogue: ImageCatalogue;
  #pulled = new Set<string>();
  #backOff = new Map<string, { until: number; delayMs: number; error: string }>();

  /** A manager for the given catalogue. */
  constructor(catalogue: ImageCatalogue) {
    this.#catalogue = catalogue;
  }

  /** Ensures the container's image for the pod `podUid`, as the kubelet would at `now`. */
  ensure(podUid: string, container: Container, now: number): ImageOutcome {
    const requested = container.image ?? "";
    let image: ResolvedImage;
    try {
      image = resolveImage(this.#catalogue, requested, this.#pulled);
    } catch (error) {
      const message = (error as Error).message;
      return {
        kind: "invalid",
        reason: "InvalidImageName",
        message,
        events: [
          { type: "Warning", reason: "InspectFailed", message },
          { type: "Warning", reason: "Failed", message: "Error: InvalidImageName" },
        ],
      };
    }
    const reference = withDefaultTag(requested, image.reference.tag, image.reference.digest);
    const policy = container.imagePullPolicy ??
      (image.reference.tag === "latest" ? "Always" : "IfNotPresent");
    if (policy === "Never" || (policy === "IfNotPresent" && image.present)) {
      if (image.present) {
        return {
          kind: "ready",
          image,
          events: [{
            type: "Normal",
            reason: "Pulled",
            message: `Container image ${goQuote(requested)} already present on machine`,
          }],
        };
      }
      const message = `Container image ${
        goQuote(requested)
      } is not present with pull policy of Never`;
      return {
        kind: "neverPull",
        reason: "ErrImageNeverPull",
        message,
        events: [
          { type: "Warning", reason: "ErrImageNeverPull", message },
          { type: "Warning", reason: "Failed", message: "Error: ErrImageNeverPull" },
        ],
      };
    }
    const key = `${podUid}_${reference}`;
    const backOff = this.#backOff.get(key);
    if (backOff && now < backOff.until) {
      return {
        kind: "backOff",
        reason: "ImagePullBackOff",
        message: `Back-off pulling image ${goQuote(reference)}: ${backOff.error}`,
        retryAt: backOff.until,
        events: [
          {
            type: "Normal",
            reason: "BackOff",
            message: `Back-off pulling image ${goQuote(reference)}`,
          },
          { type: "Warning", reason: "Failed", message: "Error: ImagePullBackOff" },
        ],
      };
    }
    const pulling: ImageEvent = {
      type: "Normal",
      reason: "Pulling",
      message: `Pulling image ${goQuote(reference)}`,
    };
    if (image.unpullable) {
      const error = `failed to pull and unpack image ${goQuote(image.reference.normalized)}: ` +
        `failed to resolve reference ${goQuote(image.reference.normalized)}: failed to do ` +
        `request: Head "https://${image.reference.domain}/v2/": dial tcp: lookup ` +
        `${image.reference.domain.replace(/:\d+$/, "")}: no such host`;
      const delayMs = backOff ? Math.min(backOff.delayMs * 2, MAX_BACKOFF_MS) : INITIAL_BACKOFF_MS;
      this.#backOff.set(key, { until: now + delayMs, delayMs, error: `ErrImagePull: ${error}` });
      return {
        kind: "pullFailed",
        reason: "ErrImagePull",
        message: error,
        events: [
          pulling,
          {
            type: "Warning",
            reason: "Failed",
            message: `Failed to pull image ${goQuote(reference)}: ${error}`,
          },
          { type: "Warning", reason: "Failed", message: "Error: ErrImagePull" },
        ],
      };
    }
    this.#backOff.delete(key);
    this.#pulled.add(image.reference.normalized);
    const size = imageSize(image);
    return {
      kind: "ready",
      image: { ...image, present: true },
      events: [pulling, {
        type: "Normal",
        reason: "Pulled",
        message: `Successfully pulled image ${goQuote(reference)} in 0s (0s including waiting). ` +
          `Image size: ${size} bytes.`,
      }],
    };
  }

  /** Drops the back-off state of a pod that is gone. */
  forget(podUid: string): void {
    for (const key of [...this.#backOff.keys()]) {
      if (key.startsWith(`${podUid}_`)) this.#backOff.delete(key);
    }
  }
}

// The kubelet appends `:latest` to an untagged, undigested image (keeping its short name).
function withDefaultTag(
  image: string,
  tag: string | undefined,
  digest: string | undefined,
): string {
  if (!digest && tag && !image.endsWith(`:${tag}`)) return `${image}:${tag}`;
  return image;
}

function imageSize(image: ResolvedImage): number {
  let size = 0;
  for (const path of Object.values(image.config.files)) {
    try {
      size += Deno.statSync(path).size;
    } catch {
      // A missing file makes the container fail to start, not the pull.
    }
  }
  return size;
}
