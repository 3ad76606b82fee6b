import assert from "node:assert/strict";
import {
  backgroundRate,
  difference,
  isWatch,
  netRequests,
  netRequestsInView,
  parseLabels,
  parseRequestCounts,
  requestKey,
  requestsInView,
  totalRequests,
} from "./api_requests.ts";

const SCRAPE = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="batch",resource="jobs",scope="namespace",subresource="",verb="LIST",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="batch",resource="jobs",scope="cluster",subresource="",verb="LIST",version="v1"} 1
apiserver_request_total{code="201",component="apiserver",dry_run="",group="batch",resource="jobs",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="log",verb="CONNECT",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="api",verb="GET",version=""} 7
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 12
apiserver_request_duration_seconds_count{code="200",group="batch",resource="jobs",verb="LIST"} 99
`;

Deno.test("parseRequestCounts sums series by verb, resource and code, without /metrics scrapes", () => {
  assert.deepEqual(
    parseRequestCounts(SCRAPE),
    new Map([
      ["LIST batch/jobs 200", 5],
      ["POST batch/jobs 201", 2],
      ["CONNECT core/pods/log 200", 3],
      ["GET nonresource:api 200", 7],
    ]),
  );
});

const keys: { labels: Record<string, string>; expected: string }[] = [
  {
    labels: { verb: "WATCH", group: "", resource: "pods", subresource: "", code: "200" },
    expected: "WATCH core/pods 200",
  },
  {
    labels: { verb: "PATCH", group: "", resource: "pods", subresource: "status", code: "200" },
    expected: "PATCH core/pods/status 200",
  },
  {
    labels: { verb: "GET", group: "", resource: "", subresource: "openapi/v3", code: "200" },
    expected: "GET nonresource:openapi/v3 200",
  },
];
for (const { labels, expected } of keys) {
  Deno.test(`requestKey: ${expected}`, () => {
    assert.equal(requestKey(labels), expected);
  });
}

Deno.test("parseLabels unescapes quotes and backslashes in values", () => {
  assert.deepEqual(parseLabels(String.raw`a="x\"y",b="c\\d",e=""`), {
    a: 'x"y',
    b: String.raw`c\d`,
    e: "",
  });
});

Deno.test("difference keeps what grew, including series that did not exist before", () => {
  const before = new Map([["GET a", 3], ["GET b", 5]]);
  const after = new Map([["GET a", 7], ["GET b", 5], ["GET c", 2]]);
  assert.deepEqual(difference(after, before), new Map([["GET a", 4], ["GET c", 2]]));
  assert.equal(totalRequests(difference(after, before)), 6);
});

Deno.test("background rate pools all idle windows; net requests subtract it over the window", () => {
  const rate = backgroundRate([{ requests: 10, seconds: 20 }, { requests: 20, seconds: 40 }]);
  assert.equal(rate, 0.5);
  assert.equal(netRequests({ requests: 30, seconds: 12 }, rate), 24);
});

Deno.test("a background rate needs an idle window", () => {
  assert.throws(() => backgroundRate([]), /no idle window/);
});

Deno.test("requestsInView counts all requests, or all but watches", () => {
  const counts = { "WATCH core/pods 200": 3, "GET batch/jobs 200": 4, "LIST batch/jobs 200": 1 };
  assert.equal(requestsInView(counts, "all"), 8);
  assert.equal(requestsInView(counts, "without-watches"), 5);
  assert.equal(isWatch("WATCH batch/jobs 200"), true);
  assert.equal(isWatch("GET nonresource:api 200"), false);
});

Deno.test("netRequestsInView subtracts the idle windows' rate in the same view", () => {
  const idle = [
    { seconds: 10, counts: { "PUT coordination.k8s.io/leases 200": 1, "WATCH core/nodes 200": 4 } },
    { seconds: 30, counts: { "PUT coordination.k8s.io/leases 200": 3, "WATCH core/nodes 200": 0 } },
  ];
  const window = { seconds: 20, counts: { "POST batch/jobs 201": 10, "WATCH batch/jobs 200": 6 } };
  // all: 8 requests in 40 s, 0.2/s; without watches: 4 in 40 s, 0.1/s.
  assert.equal(netRequestsInView(window, idle, "all"), 16 - 4);
  assert.equal(netRequestsInView(window, idle, "without-watches"), 10 - 2);
});
