import "./src/cleanup.ts";
