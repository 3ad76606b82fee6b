import assert from "node:assert/strict";
import type { PluginName } from "./hooks.ts";
import {
  checkTargets,
  formatSummary,
  logsTable,
  markdownTable,
  renderReport,
  requestsTable,
  type Results,
  stepsTable,
} from "./report.ts";
import type { LogsResult, StepRecord, StepsResult } from "./scenarios.ts";

function stepRun(
  plugin: PluginName,
  scenario: string,
  figures: { created: number; afterExit: number; cpu: number; preExitCpu: number; net: number },
): StepRecord {
  const hook = (cpuSeconds: number) => ({
    status: 0,
    startedAt: 0,
    exitedAt: 1000,
    seconds: 1,
    cpuSeconds,
    peakBytes: 64 * 1024 * 1024,
    leftBehind: 0,
  });
  return {
    plugin,
    scenario,
    repetition: 1,
    jobId: "job",
    command: hook(figures.cpu),
    preExit: hook(figures.preExitCpu),
    jobCreatedSeconds: figures.created,
    afterExitSeconds: figures.afterExit,
    fidelity: { expected: 10, distinct: 10, lost: 0, duplicated: 0, garbled: 0 },
    // With the idle window below (0.5 requests/s, 0.3 without watches) over 10 s, this
    // window's net requests are `net` in all and `net + 1` with watches left out.
    window: {
      requests: figures.net + 5,
      seconds: 10,
      counts: {
        "POST batch/jobs 201": 1,
        "GET batch/jobs 200": plugin === "ours" ? 0 : 4,
        "WATCH batch/jobs 200": 1,
        "LIST batch/jobs 200": figures.net + 3 - (plugin === "ours" ? 0 : 4),
      },
    },
    errors: [],
  };
}

const steps: StepsResult = {
  background: {
    windows: [{
      requests: 5,
      seconds: 10,
      counts: { "PUT coordination.k8s.io/leases 200": 3, "WATCH core/pods 200": 2 },
    }],
  },
  runs: [
    stepRun("ours", "10 s step", {
      created: 0.5,
      afterExit: 0.1,
      cpu: 0.4,
      preExitCpu: 0.1,
      net: 20,
    }),
    stepRun("ours", "10 s step", {
      created: 0.7,
      afterExit: 0.3,
      cpu: 0.6,
      preExitCpu: 0.1,
      net: 22,
    }),
    stepRun("ours", "10 s step", {
      created: 0.6,
      afterExit: 0.2,
      cpu: 0.5,
      preExitCpu: 0.1,
      net: 21,
    }),
    stepRun("baseline", "10 s step", {
      created: 2,
      afterExit: 4,
      cpu: 3,
      preExitCpu: 0.2,
      net: 30,
    }),
    stepRun("ours", "120 s step", {
      created: 0.6,
      afterExit: 0.2,
      cpu: 0.5,
      preExitCpu: 0.1,
      net: 23,
    }),
    stepRun("baseline", "120 s step", {
      created: 2,
      afterExit: 3,
      cpu: 6,
      preExitCpu: 0.2,
      net: 55,
    }),
  ],
};

Deno.test("formatSummary: median with the range, a single value, nothing", () => {
  assert.equal(formatSummary({ median: 1.234, min: 1, max: 2, count: 3 }, 2), "1.23 (1.00–2.00)");
  assert.equal(formatSummary({ median: 4, min: 4, max: 4, count: 5 }, 0), "4");
  assert.equal(formatSummary(undefined, 2), "—");
});

Deno.test("markdownTable pads columns as deno fmt does and escapes pipes", () => {
  assert.equal(
    markdownTable(["A", "Long header"], [["x|y", "1"], ["longer cell", "22"]]),
    [
      "| A           | Long header |",
      "| ----------- | ----------- |",
      "| x\\|y        | 1           |",
      "| longer cell | 22          |",
    ].join("\n"),
  );
});

Deno.test("stepsTable: medians of the short step's runs, CPU per step of both steps", () => {
  const table = stepsTable(steps);
  const figure = (name: string) => table.rows.find((row) => row.figure === name)!;
  assert.equal(figure("Hook start → Job created (s)").ours?.median, 0.6);
  assert.equal(figure("Container exit → hook exit (s)").baseline?.median, 4);
  assert.equal(figure("CPU per step, 10 s step (s)").ours?.median, 0.6);
  assert.equal(figure("CPU per step, 120 s step (s)").baseline?.median, 6.2);
  assert.equal(figure("API requests per step, 120 s step, all").ours?.median, 23);
  assert.equal(figure("API requests per step, 10 s step, all").baseline?.median, 30);
  assert.equal(figure("API requests per step, 10 s step, watches left out").ours?.median, 22);
});

Deno.test("requestsTable lists requests either plugin made, with medians", () => {
  const rows = requestsTable(steps).rows;
  assert.deepEqual(rows.map((row) => row.figure), [
    "GET batch/jobs 200",
    "LIST batch/jobs 200",
    "POST batch/jobs 201",
    "WATCH batch/jobs 200",
  ]);
  assert.equal(rows[0].ours?.median, 0);
  assert.equal(rows[0].baseline?.median, 4);
});

Deno.test("checkTargets judges this plugin's medians", () => {
  const checks = checkTargets({ plugins: ["ours", "baseline"], steps });
  assert.deepEqual(checks.map((check) => check.met), [true, true, true, true]);
  assert.match(checks[0].measured, /^0\.20 \(0\.10–0\.30\) s$/);
  assert.equal(checks[1].measured, "22 (21–23) → 24; all requests: 21 (20–22) → 23");
  assert.match(checks[2].measured, /0\.60 .* vs 3\.20 s \(5\.3×\)/);
});

Deno.test("checkTargets: missed targets are no; without a baseline the CPU target is undecided", () => {
  const slow: StepsResult = {
    background: steps.background,
    runs: [
      stepRun("ours", "10 s step", { created: 1, afterExit: 1.5, cpu: 1, preExitCpu: 1, net: 20 }),
      stepRun("ours", "120 s step", { created: 1, afterExit: 1.5, cpu: 1, preExitCpu: 1, net: 40 }),
    ],
  };
  const checks = checkTargets({ plugins: ["ours"], steps: slow });
  assert.deepEqual(checks.map((check) => check.met), [false, false, undefined, undefined]);
  assert.match(checks[2].measured, /no bash plugin measured/);
});

Deno.test("checkTargets: any lost, duplicated or garbled line of ours misses the log target", () => {
  const logs: LogsResult = {
    runs: [{
      ...stepRun("ours", "cut once", { created: 1, afterExit: 0, cpu: 1, preExitCpu: 0, net: 0 }),
      fidelity: { expected: 100, distinct: 100, lost: 0, duplicated: 1, garbled: 0 },
    }],
  };
  const [check] = checkTargets({ plugins: ["ours"], logs });
  assert.equal(check.met, false);
  assert.equal(check.measured, "0 lost, 1 duplicated, 0 garbled in 1 runs");
  assert.equal(
    logsTable(logs).rows.find((row) => row.figure.startsWith("Connection"))?.compare,
    false,
  );
});

Deno.test("renderReport: two columns without a baseline, four with one", () => {
  const ours: Results = {
    plugins: ["ours"],
    steps: { ...steps, runs: steps.runs.filter((run) => run.plugin === "ours") },
  };
  const alone = renderReport(ours);
  assert.match(alone, /^\| Figure +\| This plugin +\|$/m);
  assert.doesNotMatch(alone, /Bash plugin/);
  const both = renderReport({ plugins: ["ours", "baseline"], steps });
  assert.match(both, /^\| Figure +\| This plugin +\| Bash plugin +\| Bash \/ this \|$/m);
  assert.match(
    both,
    /^\| Container exit → hook exit \(s\) +\| 0\.20 \(0\.10–0\.30\) +\| 4\.00 +\| 20\.0× +\|$/m,
  );
  assert.match(both, /\*\*Targets\*\*/);
  assert.match(
    both,
    /^\| Figure +\| This plugin +\| Bash plugin +\|$/m,
    "no ratio column by request",
  );
});
