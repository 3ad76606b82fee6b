/** Which API servers `sidecars` are refused on: native sidecars are on by default from 1.29. */
import assert from "node:assert/strict";
import { type ServerVersion, sidecarsRefusal } from "../../../src/kube/server_version.ts";

const versions: [ServerVersion, boolean][] = [
  [{ major: "1", minor: "28", gitVersion: "v1.28.9" }, false],
  [{ major: "1", minor: "27+", gitVersion: "v1.27.16-eks-a18cd3a" }, false],
  [{ major: "1", minor: "29", gitVersion: "v1.29.0" }, true],
  [{ major: "1", minor: "30+", gitVersion: "v1.30.4-gke.1348000" }, true],
  [{ major: "1", minor: "37", gitVersion: "v1.37.2" }, true],
  [{ major: "2", minor: "0", gitVersion: "v2.0.0" }, true],
  // A build without version stamps (`v0.0.0-master`): not refused on a guess.
  [{ major: "", minor: "", gitVersion: "v0.0.0-master+$Format:%H$" }, true],
];

for (const [version, accepted] of versions) {
  Deno.test(`sidecars on Kubernetes ${version.gitVersion}: ${accepted ? "accepted" : "refused"}`, () => {
    const refusal = sidecarsRefusal(version);
    if (accepted) {
      assert.equal(refusal, undefined);
      return;
    }
    assert.match(
      refusal!,
      new RegExp(
        "^option `sidecars` needs Kubernetes 1\\.29 or later \\(native sidecar containers: " +
          `init containers with restartPolicy: Always\\), but the API server is ${
            version.gitVersion.replaceAll(".", "\\.")
          };`,
      ),
    );
  });
}
