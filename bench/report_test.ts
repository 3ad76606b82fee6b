import assert from "node:assert/strict";
import type { BigLogRecord, BigLogResult } from "./big_log.ts";
import type { PluginName } from "./hooks.ts";
import {
  beforeTable,
  bigLogTable,
  checkTargets,
  formatSummary,
  logsTable,
  markdownTable,
  renderReport,
  renderStartup,
  requestsTable,
  type Results,
  stepsTable,
} from "./report.ts";
import type { LogsResult, StepRecord, StepsResult } from "./scenarios.ts";
import type { StartupProgram, StartupResult } from "./startup.ts";

const MIB = 1024 * 1024;

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
    peakBytes: 64 * MIB,
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

/** The short step's runs of ours and of before, with the latencies given, one run each. */
function latencies(
  ours: { created: number; afterExit: number }[],
  before: { created: number; afterExit: number }[],
): StepsResult {
  const run = (plugin: PluginName) => (figures: { created: number; afterExit: number }) =>
    stepRun(plugin, "10 s step", { ...figures, cpu: 0.5, preExitCpu: 0, net: 20 });
  return {
    background: steps.background,
    runs: [...ours.map(run("ours")), ...before.map(run("before"))],
  };
}

const withBefore: StepsResult = {
  background: steps.background,
  runs: [
    ...steps.runs,
    stepRun("before", "10 s step", {
      created: 0.9,
      afterExit: 1.2,
      cpu: 1.2,
      preExitCpu: 0.4,
      net: 30,
    }),
    stepRun("before", "10 s step", {
      created: 0.8,
      afterExit: 1.0,
      cpu: 0.8,
      preExitCpu: 0.4,
      net: 28,
    }),
    stepRun("before", "120 s step", {
      created: 0.8,
      afterExit: 1.1,
      cpu: 1.5,
      preExitCpu: 0.5,
      net: 31,
    }),
  ],
};

Deno.test("beforeTable: ours against the earlier checkout, latency, CPU and memory, no API requests", () => {
  const table = beforeTable(withBefore, { beforeCommit: "5b08bf9c0ffee" });
  assert.equal(table.title, "This plugin against itself before (commit 5b08bf9)");
  assert.equal(table.other, "before");
  const rounded = (median?: number) => median === undefined ? undefined : +median.toFixed(3);
  const rows = table.rows.map((row) => [
    row.figure,
    rounded(row.ours?.median),
    rounded(row.before?.median),
  ]);
  assert.deepEqual(rows, [
    ["Hook start → Job created (s)", 0.6, 0.85],
    ["Container exit → hook exit (s)", 0.2, 1.1],
    ["CPU, command hook (s)", 0.5, 1],
    ["CPU, pre-exit hook (s)", 0.1, 0.4],
    ["CPU per step, 10 s step (s)", 0.6, 1.4],
    ["CPU per step, 120 s step (s)", 0.6, 2],
    ["Peak memory, command hook (MiB)", 64, 64],
    ["Peak memory, pre-exit hook (MiB)", 64, 64],
  ]);
  assert.equal(beforeTable(withBefore).title, "This plugin against itself before");
});

Deno.test("renderReport: the before table has its own columns; the per-step table keeps the bash plugin's", () => {
  const markdown = renderReport(
    { plugins: ["ours", "baseline", "before"], steps: withBefore },
    { beforeCommit: "5b08bf9c0ffee" },
  );
  const [perStep, before] = markdown.split(
    "**This plugin against itself before (commit 5b08bf9)**",
  );
  assert.ok(before, "the before table is there, under its commit");
  assert.match(perStep, /^\| Figure +\| This plugin +\| Bash plugin +\| Bash \/ this \|$/m);
  assert.doesNotMatch(perStep, /Before/);
  assert.match(before, /^\| Figure +\| This plugin +\| Before +\| Before \/ this \|$/m);
  assert.match(
    before,
    /^\| Container exit → hook exit \(s\) +\| 0\.20 \(0\.10–0\.30\) +\| 1\.10 \(1\.00–1\.20\) +\| 5\.5× +\|$/m,
  );
  assert.match(markdown, /^\| Hook start → Job created no worse than before .*\| yes +\|$/m);
  const alone = renderReport({ plugins: ["ours", "before"], steps: withBefore });
  assert.match(alone, /^\| Figure +\| This plugin +\|$/m, "no bash plugin, no column for it");
  assert.match(alone, /^\| Figure +\| This plugin +\| Before +\| Before \/ this \|$/m);
  assert.doesNotMatch(renderReport({ plugins: ["ours", "baseline"], steps }), /before/i);
});

const noWorse: {
  name: string;
  ours: { created: number; afterExit: number }[];
  before: { created: number; afterExit: number }[];
  met: [boolean | undefined, boolean | undefined];
  measured?: RegExp;
}[] = [
  {
    name: "faster than before",
    ours: [{ created: 0.3, afterExit: 1.0 }],
    before: [{ created: 0.5, afterExit: 1.2 }],
    met: [true, true],
    measured: /^0\.30 s vs 0\.50 s before \(-0\.20 s; allowed \+0\.05 s\)$/,
  },
  {
    name: "slower by the absolute tolerance exactly, or by a little more",
    ours: [{ created: 0.4, afterExit: 0.36 }],
    before: [{ created: 0.35, afterExit: 0.3 }],
    met: [true, false],
  },
  {
    name: "slower by the relative tolerance exactly, or by a little more",
    ours: [{ created: 2.1, afterExit: 2.11 }],
    before: [{ created: 2, afterExit: 2 }],
    met: [true, false],
    measured: /^2\.10 s vs 2\.00 s before \(\+0\.10 s; allowed \+0\.10 s\)$/,
  },
  {
    name: "medians, not single runs",
    ours: [{ created: 0.3, afterExit: 1 }, { created: 0.9, afterExit: 3 }, {
      created: 0.31,
      afterExit: 1.01,
    }],
    before: [{ created: 0.3, afterExit: 1 }, { created: 0.31, afterExit: 1.01 }, {
      created: 0.32,
      afterExit: 1.02,
    }],
    met: [true, true],
  },
  {
    name: "no runs of ours: not judged",
    ours: [],
    before: [{ created: 0.3, afterExit: 1 }],
    met: [undefined, undefined],
    measured: /^not measured$/,
  },
];
for (const { name, ours, before, met, measured } of noWorse) {
  Deno.test(`checkTargets: no worse than before, ${name}`, () => {
    const checks = checkTargets({ plugins: ["ours", "before"], steps: latencies(ours, before) })
      .filter((check) => check.target.includes("no worse than before"));
    assert.deepEqual(checks.map((check) => check.target), [
      "Hook start → Job created no worse than before (median; tolerance: 5 % of before's, at least 0.05 s)",
      "Container exit → hook exit no worse than before (median; tolerance: 5 % of before's, at least 0.05 s)",
    ]);
    assert.deepEqual(checks.map((check) => check.met), met);
    if (measured) assert.match(checks[0].measured, measured);
  });
}

Deno.test("checkTargets: without the earlier checkout's runs, no before targets", () => {
  const checks = checkTargets({ plugins: ["ours", "baseline"], steps });
  assert.equal(checks.filter((check) => check.target.includes("before")).length, 0);
  assert.equal(
    checkTargets({ plugins: ["ours", "baseline", "before"], steps: withBefore }).length,
    6,
  );
});

function startupRun(program: StartupProgram, ms: number, mib: number, errors: string[] = []) {
  return { program, repetition: 1, status: 0, seconds: ms / 1000, peakBytes: mib * MIB, errors };
}

const startup: StartupResult = {
  runs: [
    startupRun("empty", 30, 20),
    startupRun("empty", 40, 22),
    startupRun("empty", 35, 21),
    startupRun("version", 50, 22),
    startupRun("version", 52, 22),
    startupRun("--help", 49, 22),
    startupRun("cleanup", 100, 40),
    startupRun("cleanup", 110, 42),
    startupRun("cleanup", 20, 30, ["reported something (see its output)"]),
    startupRun("render", 210, 60),
  ],
};

Deno.test("renderStartup: medians of the runs that did their work, ratios to the empty program", () => {
  const markdown = renderStartup(startup);
  assert.match(
    markdown,
    /^\| Empty Deno program +\| 35 \(30–40\) +\| 1\.00× +\| 21\.0 \(20\.0–22\.0\) +\| 1\.00× +\| 3 +\|$/m,
  );
  assert.match(
    markdown,
    /^\| `version` +\| 51 \(50–52\) +\| 1\.46× +\| 22\.0 +\| 1\.05× +\| 2 +\|$/m,
  );
  assert.match(
    markdown,
    /^\| `cleanup` \(no Job to delete\) +\| 105 \(100–110\) +\| 3\.00× +\| 41\.0 \(40\.0–42\.0\) +\| 1\.95× +\| 2 \(1 failed\) +\|$/m,
  );
  assert.match(markdown, /^\| `render` +\| 210 +\| 6\.00× +\| 60\.0 +\| 2\.86× +\| 1 +\|$/m);
});

Deno.test("checkTargets: version within 1.5× and cleanup within 3× of the empty program; a failed run misses", () => {
  const [version, cleanup] = checkTargets({ plugins: ["ours"], startup });
  assert.equal(version.met, true);
  assert.equal(version.measured, "51 (50–52) ms vs 35 (30–40) ms (1.46×)");
  assert.equal(cleanup.met, false, "3.00× would do, but one run failed");
  assert.match(cleanup.measured, /\(3\.00×\); 1 runs failed$/);
  const fine = { runs: startup.runs.filter((run) => run.errors.length === 0) };
  assert.deepEqual(checkTargets({ plugins: ["ours"], startup: fine }).map((c) => c.met), [
    true,
    true,
  ]);
  const slow = {
    runs: [...fine.runs, startupRun("version", 60, 22), startupRun("version", 70, 22)],
  };
  assert.equal(checkTargets({ plugins: ["ours"], startup: slow })[0].met, false, "60 ms is 1.71×");
  const none = { runs: fine.runs.filter((run) => run.program !== "cleanup") };
  const [, unmeasured] = checkTargets({ plugins: ["ours"], startup: none });
  assert.deepEqual([unmeasured.met, unmeasured.measured], [undefined, "not measured"]);
});

function bigLogRun(
  megabytes: number,
  repetition: number,
  figures: { mib: number; seconds: number; lost?: number; errors?: string[] },
): BigLogRecord {
  const bytes = megabytes * 1e6;
  return {
    plugin: "ours",
    megabytes,
    repetition,
    jobId: "job",
    command: {
      status: 0,
      startedAt: 0,
      exitedAt: 1000,
      seconds: 1,
      cpuSeconds: 1,
      peakBytes: figures.mib * MIB,
      leftBehind: 0,
    },
    tally: {
      expected: bytes / 100,
      distinct: bytes / 100 - (figures.lost ?? 0),
      lost: figures.lost ?? 0,
      duplicated: 0,
      garbled: 0,
      bytes,
      gapsTold: 0,
      firstLineAt: 10_000,
      lastLineAt: 10_000 + figures.seconds * 1000,
      containerStart: 9_000,
      containerEnd: 9_000 + figures.seconds * 500,
    },
    errors: figures.errors ?? [],
  };
}

const biglog: BigLogResult = {
  runs: [
    bigLogRun(1, 1, { mib: 30, seconds: 0.1 }),
    bigLogRun(100, 1, { mib: 34, seconds: 4 }),
    bigLogRun(100, 2, { mib: 40, seconds: 5 }),
    bigLogRun(1, 2, { mib: 31, seconds: 0.1 }),
  ],
};

Deno.test("bigLogTable: peaks at both sizes, their difference run by run, throughput", () => {
  const table = bigLogTable(biglog);
  const figure = (name: string) => table.rows.find((row) => row.figure === name)!.ours;
  assert.equal(figure("Peak memory, 1 MB log (MiB)")?.median, 30.5);
  assert.equal(figure("Peak memory, 100 MB log (MiB)")?.median, 37);
  assert.deepEqual(figure("Peak memory, 100 MB less 1 MB, same run (MiB)"), {
    median: 6.5,
    min: 4,
    max: 9,
    count: 2,
  });
  assert.equal(
    figure("Throughput, 100 MB log, first line → last in the build log (MB/s)")?.median,
    22.5,
  );
  assert.equal(figure("The step's own printing, 100 MB log, container clock (MB/s)")?.max, 50);
  assert.equal(figure("Lines lost, 100 MB log")?.median, 0);
});

Deno.test("checkTargets: the big log within 10 MiB of the small one; a failed run misses", () => {
  const [check] = checkTargets({ plugins: ["ours"], biglog });
  assert.equal(check.met, true);
  assert.equal(check.measured, "6.5 (4.0–9.0) MiB");
  const grown = {
    runs: [...biglog.runs.slice(0, 2), bigLogRun(100, 2, { mib: 52, seconds: 5 }), biglog.runs[3]],
  };
  assert.equal(
    checkTargets({ plugins: ["ours"], biglog: grown })[0].met,
    false,
    "(4 + 21) / 2 = 12.5",
  );
  const lossy = {
    runs: [
      biglog.runs[0],
      bigLogRun(100, 1, { mib: 31, seconds: 4, lost: 10, errors: ["10 of 1000000 lines lost"] }),
    ],
  };
  const [failed] = checkTargets({ plugins: ["ours"], biglog: lossy });
  assert.deepEqual([failed.met, failed.measured], [false, "not measured; 1 runs failed"]);
  assert.equal(
    bigLogTable(lossy).rows.find((row) => row.figure === "Lines lost, 100 MB log")?.ours?.median,
    10,
    "lines lost counts failed runs too",
  );
});

Deno.test("renderReport: the new parts' tables, no bash column for the big log", () => {
  const markdown = renderReport({ plugins: ["ours", "baseline"], steps, startup, biglog });
  assert.match(markdown, /\*\*Start-up, process start → exit/);
  assert.match(markdown, /^\| Peak memory, 100 MB log \(MiB\) +\| 37\.0 \(34\.0–40\.0\) +\|$/m);
  assert.match(markdown, /^\| Figure +\| This plugin +\| Bash plugin +\| Bash \/ this \|$/m);
});

Deno.test("renderReport renders a run from before --before: no before table, no before targets", async () => {
  const document = JSON.parse(
    await Deno.readTextFile(new URL("./results/2026-12-02-full.json", import.meta.url)),
  ) as { meta: { before?: unknown }; results: Results };
  assert.equal(document.meta.before, undefined);
  const markdown = renderReport(document.results);
  assert.match(markdown, /\*\*Per step\*\*/);
  assert.match(markdown, /\*\*Targets\*\*/);
  assert.doesNotMatch(markdown, /against itself before|no worse than before|\| Before/);
});

Deno.test("renderReport renders a run from before the start-up and big log parts", async () => {
  const document = JSON.parse(
    await Deno.readTextFile(new URL("./results/2026-12-01-full.json", import.meta.url)),
  ) as { results: Results };
  assert.equal(document.results.startup, undefined);
  const markdown = renderReport(document.results);
  assert.match(markdown, /\*\*Per step\*\*/);
  assert.match(markdown, /\*\*Concurrent steps\*\*/);
  assert.doesNotMatch(markdown, /Start-up|big log/);
});
