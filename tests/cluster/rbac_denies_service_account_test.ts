import assert from "node:assert/strict";
import { isApiError } from "./api_client.ts";
import { freshNamespace, testCluster } from "./testing.ts";

Deno.test("RBAC denies a ServiceAccount without rights until a Role allows it", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "builder" },
  });
  const user = `system:serviceaccount:${ns}:builder`;
  const asBuilder = () =>
    cluster.api.request("GET", `/api/v1/namespaces/${ns}/pods`, {
      headers: { "Impersonate-User": user },
    });
  await assert.rejects(asBuilder(), (error) => {
    assert.ok(isApiError(error, 403));
    assert.match(
      error.message,
      new RegExp(
        `User "${user}" cannot list resource "pods" in API group "" in the namespace "${ns}"`,
      ),
    );
    return true;
  });

  const token = await cluster.api.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${ns}/serviceaccounts/builder/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 },
    },
  );
  const withToken = () =>
    cluster.api.request("GET", `/api/v1/namespaces/${ns}/pods`, {
      headers: { authorization: `Bearer ${token.status.token}` },
    });
  await assert.rejects(withToken(), (error) => isApiError(error, 403));

  await cluster.api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "read-pods" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
  });
  await cluster.api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "builder-reads-pods" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-pods" },
    subjects: [{ kind: "ServiceAccount", name: "builder", namespace: ns }],
  });
  // The authorizer applies a binding once its informers have it; nothing about that can be
  // watched from outside, so ask again (briefly) until the answer changes.
  const deadline = Date.now() + 30_000;
  let allowed = false;
  while (!allowed && Date.now() < deadline) {
    allowed = await withToken().then(() => true, () => false);
    if (!allowed) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(allowed, "the RoleBinding lets the ServiceAccount list pods");
  await asBuilder();
});
