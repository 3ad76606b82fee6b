/**
 * The plugin's own exit statuses: what the `command` hook exits with when the step's
 * command did not decide it. The README's table is generated from this list.
 *
 * @module
 */

/** One documented exit status. */
export interface ExitStatusInfo {
  /** The exit status. */
  code: number;
  /** When the hook exits with it. */
  meaning: string;
}

/** Every exit status the plugin itself chooses, by name. */
export const EXIT = {
  /** A plugin option or the step's environment is invalid; nothing was created. */
  config: {
    code: 78,
    meaning: "Invalid plugin configuration or step environment; nothing was created.",
  },
  /** The API server refused the Job or Secret, or could not be reached in time. */
  submit: {
    code: 90,
    meaning: "The Kubernetes API refused the Job or its Secret, or stayed unreachable.",
  },
  /** The image could not be pulled within `image-pull-grace`. */
  imagePull: {
    code: 91,
    meaning:
      "An image could not be pulled (`ErrImagePull`/`ImagePullBackOff` beyond `image-pull-grace`).",
  },
  /** The image reference is malformed, or the image is absent with `imagePullPolicy: Never`. */
  invalidImage: {
    code: 92,
    meaning:
      "An image name is invalid (`InvalidImageName`) or absent with `imagePullPolicy: Never`.",
  },
  /**
   * A container could not be created, or a volume not mounted: a missing Secret, ConfigMap or
   * key; or a sidecar did not come up, so the step's container could not start.
   */
  containerConfig: {
    code: 93,
    meaning:
      "A container could not be created (`CreateContainerConfigError`: missing Secret, ConfigMap or key; `CreateContainerError`) or a volume could not be mounted (`FailedMount`: a missing Secret or claim) beyond `image-pull-grace`; or a sidecar exited, crashed or failed its startup probe before the step's command started.",
  },
  /** The pod was not scheduled, started, resumed or replaced within `pending-timeout`. */
  pending: {
    code: 94,
    meaning:
      "The pod stayed unschedulable or unstarted beyond `pending-timeout`; or the Job was suspended from outside (Kueue) and not resumed, or a lost pod with retries left was not replaced, within it.",
  },
  /** The Job never got a pod (`FailedCreate` beyond `pod-creation-grace`, or one no retry heals). */
  noPod: {
    code: 95,
    meaning:
      "The Job could not create its pod (`FailedCreate`: missing ServiceAccount, quota, admission) beyond `pod-creation-grace`, or at once for a PodSecurity violation or a pod the API server finds invalid.",
  },
  /** The pod or Job was deleted from outside, or Kubernetes stopped the pod, before it finished. */
  lost: {
    code: 96,
    meaning:
      "The pod or Job was deleted from outside, or Kubernetes stopped the pod (eviction, preemption, node shutdown), before the step finished, and the Job had no retry left; a pod lost before the command started is first replaced by a new Job (`lost-pod-retries`).",
  },
  /** The plugin could not follow the step: watching was refused, the API stayed unreachable, or it failed. */
  internal: {
    code: 97,
    meaning:
      "The plugin could not follow the Job (the API refused a watch, or stayed unreachable beyond `api-unreachable-timeout`) or failed internally; the Job is deleted (once the API answers).",
  },
} as const satisfies Record<string, ExitStatusInfo>;

/** An error the pipeline author or operator can fix: printed without a stack, with its exit status. */
export class UserError extends Error {
  /** The exit status the program ends with. */
  readonly exitStatus: number;

  /** Creates an error with a message for the build log and the exit status to end with. */
  constructor(message: string, exitStatus: number = EXIT.config.code) {
    super(message);
    this.name = "UserError";
    this.exitStatus = exitStatus;
  }
}
