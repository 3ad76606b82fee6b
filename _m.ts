import "./src/run.ts";
