# The agent image: buildkite-agent with this plugin's program, run by the agent chart's
# Deployment; the same image is every step's default init (checkout) image.

# npm installs the dependencies because package-lock.json is npm's: `npm ci` reproduces it
# exactly, and deno.json's nodeModulesDir "manual" makes Deno read node_modules as is.
FROM node:20.20.2-bookworm-slim AS dependencies
WORKDIR /src
COPY package.json package-lock.json ./
# Production dependencies only: the devDependencies are the test tools and the `deno` npm
# package, whose install script would download a second Deno.
RUN npm ci --omit=dev --ignore-scripts

# The Deno version is package.json's, the one the project is checked and tested with.
FROM denoland/deno:debian-2.9.6 AS build
WORKDIR /src
COPY --from=dependencies /src/node_modules ./node_modules
COPY deno.json package.json ./
COPY src ./src
# The compile task is the single statement of the program's permissions and entry point.
RUN deno task compile

# The Ubuntu flavour of the official image, not Alpine: `deno compile` produces a glibc
# binary. The agent version is the one scripts/build-binaries builds for the tests.
FROM buildkite/agent:3.137.2-ubuntu-24.04
LABEL org.opencontainers.image.title="buildkite-agent" \
      org.opencontainers.image.description="Buildkite agent that runs pipeline steps as Kubernetes Jobs (muhlba91/kubernetes plugin)" \
      org.opencontainers.image.version="2.0.0" \
      org.opencontainers.image.source="https://github.com/muhlba91/kubernetes-buildkite-plugin" \
      org.opencontainers.image.url="https://quay.io/repository/muhlba91/buildkite-agent" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="Daniel Muehlbachler-Pietrzykowski" \
      org.opencontainers.image.base.name="docker.io/buildkite/agent:3.137.2-ubuntu-24.04"
USER root
# The checkout and the agent's plugin clones need git, ssh (ssh-agent, ssh-add) and CA
# certificates; tini is PID 1, reaping orphans and passing signals to the agent's group.
# The base image tag fixes the Ubuntu release; the packages are not pinned to exact
# versions because the archive keeps only the latest security update of each.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates git openssh-client tini \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist/kubernetes-buildkite-plugin /usr/local/bin/kubernetes-buildkite-plugin
COPY docker/entrypoint.sh /entrypoint.sh
# The base image runs as root and has no user of its own: buildkite-agent (uid and gid 10000,
# clear of the distribution's and the host's users) owns /buildkite, where the agent writes.
RUN groupadd --gid 10000 buildkite-agent \
    && useradd --uid 10000 --gid 10000 --create-home --home-dir /home/buildkite-agent \
       --shell /bin/bash buildkite-agent \
    && chown -R buildkite-agent:buildkite-agent /buildkite
# Numeric, so that Kubernetes can tell a pod with runAsNonRoot that the user is not root. As a
# step's checkout image it runs as the step's user, root unless told otherwise: the plugin
# says so in the checkout container's securityContext (its Secret volumes are root-owned 0400).
USER 10000:10000
ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/entrypoint.sh"]
CMD ["start"]
