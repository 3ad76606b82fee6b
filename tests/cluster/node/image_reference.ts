/**
 * Image references as the kubelet reads them (github.com/distribution/reference's
 * `ParseNormalizedNamed`, then the kubelet's default tag), with the kubelet's error texts,
 * so an invalid name fails with the message a real node gives.
 *
 * @module
 */

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** `docker.io`, `quay.io`, `registry.invalid`, `localhost:5000` … */
  domain: string;
  /** `library/alpine`, `muhlba91/buildkite-agent` … */
  path: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  digest?: string;
  /** `domain/path`, the repository to pull. */
  repository: string;
  /** The full normalized reference (`docker.io/library/alpine:latest`). */
  normalized: string;
}

const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const NAME = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE_NAME})$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;
const DIGEST_HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Parses an image as the kubelet does; throws with the kubelet's message when invalid. */
export function parseImageReference(image: string): ImageReference {
  try {
    return parseNormalizedNamed(image);
  } catch (error) {
    throw new Error(
      `Failed to apply default image tag ${goQuote(image)}: couldn't parse image name ` +
        `${goQuote(image)}: ${(error as Error).message}`,
    );
  }
}

function parseNormalizedNamed(image: string): ImageReference {
  if (IDENTIFIER.test(image)) {
    throw new Error(
      `invalid repository name (${image}), cannot specify 64-byte hexadecimal strings`,
    );
  }
  const [domain, remainder] = splitDockerDomain(image);
  const tagAt = remainder.indexOf(":");
  const remote = tagAt >= 0 ? remainder.slice(0, tagAt) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new Error(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const full = `${domain}/${remainder}`;
  const match = REFERENCE.exec(full);
  if (!match) {
    if (full === "") throw new Error("repository name must have at least one component");
    if (REFERENCE.test(full.toLowerCase())) {
      throw new Error("repository name must be lowercase");
    }
    throw new Error("invalid reference format");
  }
  const name = NAME.exec(match[1])!;
  const path = name[2];
  if (path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new Error(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const digest = match[3];
  if (digest) validateDigest(digest);
  const tag = match[2] ?? (digest ? undefined : "latest");
  const repository = `${name[1]}/${path}`;
  const normalized = `${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  return { domain: name[1], path, tag, digest, repository, normalized };
}

function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  if (slash < 0) return ["docker.io", `library/${name}`];
  const maybeDomain = name.slice(0, slash);
  let domain = "docker.io";
  let remote = name;
  if (maybeDomain === "index.docker.io") {
    remote = name.slice(slash + 1);
  } else if (
    maybeDomain === "localhost" || /[.:]/.test(maybeDomain) ||
    maybeDomain.toLowerCase() !== maybeDomain
  ) {
    domain = maybeDomain;
    remote = name.slice(slash + 1);
  }
  if (domain === "docker.io" && !remote.includes("/")) remote = `library/${remote}`;
  return [domain, remote];
}

function validateDigest(digest: string): void {
  const [algorithm, hex] = digest.split(":");
  const length = DIGEST_HEX_LENGTHS[algorithm];
  if (length === undefined) throw new Error("unsupported digest algorithm");
  if (hex.length !== length) throw new Error("invalid checksum digest length");
  if (!/^[a-f0-9]+$/.test(hex)) throw new Error("invalid checksum digest format");
}

/** Quotes like Go's `%q` for the printable ASCII that image names consist of. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
