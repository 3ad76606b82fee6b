import "./src/cleanup.ts";
await import("yaml");
