/**
 * The one version number of this project. The plugin is released as tag `v${VERSION}`;
 * the default init image, the agent chart's appVersion and `version`'s output use it.
 */
export const VERSION = "2.0.0";

/** The image this project publishes: the agent image, also the default init (checkout) image. */
export const IMAGE_REPOSITORY = "quay.io/muhlba91/buildkite-agent";

/** The default init image: the published image at this version. */
export const DEFAULT_INIT_IMAGE = `${IMAGE_REPOSITORY}:${VERSION}`;
