/**
 * The configuration files of the local node, as plain text from plain data: containerd's
 * (with the CRI settings this VM needs), the registry mirror every image host goes to, the
 * CNI network (a bridge connected to nothing), the kubelet's and the local registry's.
 * `../shared/reference/real-node.md` says why each setting is there.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Where the node's parts keep their files, and the ports they listen on (127.0.0.1). */
export interface NodeLayout {
  /** The cluster's state directory. */
  stateDir: string;
  /** The directory of containerd, containerd-shim-runc-v2 and ctr. */
  containerdDir: string;
  runc: string;
  /** The directory of the CNI plugins (bridge, host-local, loopback). */
  cniDir: string;
  /** host:port of the local registry. */
  registry: string;
  kubeletPort: number;
  kubeletHealthzPort: number;
  pauseImage: string;
}

/** The name of the CNI bridge on the host (also what teardown removes). */
export const BRIDGE_NAME = "kbk0";

/**
 * Where containerd's sockets go: a unix socket path holds at most 104 bytes, which a state
 * directory under a temporary one can pass, so they live in a short directory of their own.
 */
export function socketDir(stateDir: string): string {
  return `/run/kbk-node-${createHash("sha256").update(stateDir).digest("hex").slice(0, 12)}`;
}

/** The paths derived from the state directory. */
export function nodePaths(stateDir: string) {
  return {
    containerdConfig: `${stateDir}/containerd/config.toml`,
    containerdSocket: `${socketDir(stateDir)}/containerd.sock`,
    containerdRoot: `${stateDir}/containerd/root`,
    containerdState: `${stateDir}/containerd/state`,
    registryHosts: `${stateDir}/containerd/certs.d`,
    cniConfDir: `${stateDir}/containerd/cni`,
    kubeletConfig: `${stateDir}/kubelet/config.yaml`,
    kubeletRoot: `${stateDir}/kubelet/root`,
    kubeletKubeconfig: `${stateDir}/kubelet/kubeconfig`,
    podLogs: `${stateDir}/pod-logs`,
    registryConfig: `${stateDir}/registry/config.yml`,
    registryStorage: `${stateDir}/registry/storage`,
    schedulerConfig: `${stateDir}/scheduler/config.yaml`,
    schedulerKubeconfig: `${stateDir}/scheduler/kubeconfig`,
  };
}

/** containerd 2.x (configuration version 3). */
export function containerdConfig(layout: NodeLayout): string {
  const paths = nodePaths(layout.stateDir);
  return `version = 3
root = "${paths.containerdRoot}"
state = "${paths.containerdState}"

[grpc]
  address = "${paths.containerdSocket}"
[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"
[metrics]
  address = ""

# NRI would listen on a fixed path (/run/nri) that nothing here uses.
[plugins."io.containerd.nri.v1.nri"]
  disable = true

[plugins."io.containerd.internal.v1.opt"]
  path = "${layout.stateDir}/containerd/opt"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "${layout.pauseImage}"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "${paths.registryHosts}"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  disable_apparmor = true
  # Root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (pause wants -998).
  restrict_oom_score_adj = true
  tolerate_missing_hugetlb_controller = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${layout.runc}"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["${layout.cniDir}"]
    conf_dir = "${paths.cniConfDir}"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

/**
 * The `_default` registry host: every registry (docker.io, quay.io, registry.k8s.io, any
 * name at all) is served by the local registry and by nothing else, so no pull ever leaves
 * the machine and an image that was not pushed is "not found".
 */
export function registryHostsToml(layout: NodeLayout): string {
  return `server = "http://${layout.registry}"

[host."http://${layout.registry}"]
  capabilities = ["pull", "resolve"]
`;
}

/**
 * A bridge without a gateway, routes or masquerading: a pod gets an address and a link
 * route only, the bridge has no address on the host, so nothing in a pod reaches the host
 * or beyond. (containerd reports the network ready only with a CNI configuration; a
 * loopback-only list fails every sandbox.) Pods that need a host service use hostNetwork.
 */
export function cniConfig(): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "kbk-isolated",
      plugins: [{
        type: "bridge",
        bridge: BRIDGE_NAME,
        isGateway: false,
        isDefaultGateway: false,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "10.244.0.0/24" }]],
          dataDir: "/var/lib/cni/networks",
        },
      }, { type: "loopback" }],
    },
    null,
    2,
  );
}

/** The kubelet's configuration file. */
export function kubeletConfig(layout: NodeLayout, caCert: string): string {
  const paths = nodePaths(layout.stateDir);
  return JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      // This VM has cgroup v1 (hybrid); kubelet >= 1.35 refuses it unless told.
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      cgroupsPerQOS: true,
      cgroupRoot: "/",
      enforceNodeAllocatable: ["pods"],
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
      address: "127.0.0.1",
      port: layout.kubeletPort,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: layout.kubeletHealthzPort,
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: false },
        x509: { clientCAFile: caCert },
      },
      authorization: { mode: "AlwaysAllow" },
      clusterDomain: "cluster.local",
      // No name server is reachable from here: pods ask their own loopback, where nothing
      // answers, and the hosts' resolv.conf is not handed on.
      clusterDNS: ["127.0.0.1"],
      resolvConf: "",
      registerNode: true,
      serializeImagePulls: false,
      // The disk is shared with everything else on the machine: never evict or collect images.
      evictionHard: {
        "memory.available": "100Mi",
        "nodefs.available": "1%",
        "imagefs.available": "1%",
        "nodefs.inodesFree": "1%",
      },
      imageGCHighThresholdPercent: 99,
      imageGCLowThresholdPercent: 98,
      protectKernelDefaults: false,
      maxPods: 110,
      podPidsLimit: -1,
      nodeStatusUpdateFrequency: "10s",
      syncFrequency: "10s",
      fileCheckFrequency: "20s",
      shutdownGracePeriod: "0s",
      imagePullCredentialsVerificationPolicy: "NeverVerify",
      podLogsDir: paths.podLogs,
      // Kubernetes' default is 10Mi: the kubelet rotates a container's log every 10 s when it
      // is bigger, and serves only the current file. The tests' 50 MB logs stay whole here;
      // what a rotated log costs the plugin is issue 12's item 15.
      containerLogMaxSize: "200Mi",
      containerLogMaxFiles: 2,
    },
    null,
    2,
  );
}

/** The kube-scheduler's configuration file. */
export function schedulerConfig(stateDir: string): string {
  return JSON.stringify(
    {
      apiVersion: "kubescheduler.config.k8s.io/v1",
      kind: "KubeSchedulerConfiguration",
      clientConnection: { kubeconfig: nodePaths(stateDir).schedulerKubeconfig },
      leaderElection: { leaderElect: false },
    },
    null,
    2,
  );
}

/** The local registry's configuration (distribution v3). */
export function registryConfig(layout: NodeLayout): string {
  const paths = nodePaths(layout.stateDir);
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${paths.registryStorage}
  delete:
    enabled: true
http:
  addr: ${layout.registry}
`;
}
