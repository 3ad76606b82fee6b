/**
 * The job environment files the agent writes before a job starts: `BUILDKITE_ENV_JSON_FILE`
 * (one JSON object) and `BUILDKITE_ENV_FILE` (`KEY="value"` lines, Go `%q` quoted, in random
 * order, optionally preceded by bare names of agent variables to propagate).
 *
 * @module
 */
import { UserError } from "../exit_status.ts";

/** A job environment as read from the agent's files. */
export interface JobEnvironment {
  /** The pipeline's, step's and build's variables, in file order. */
  vars: Map<string, string>;
  /** Names of agent variables the agent asks to propagate from its own environment. */
  propagate: string[];
  /** Which file it came from, for messages. */
  source: string;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  "\\": 0x5c,
  '"': 0x22,
  "'": 0x27,
};

const encoder = new TextEncoder();

/**
 * Undoes Go's `strconv.Quote`: the body of a double-quoted Go string literal. Escaped bytes
 * (`\xNN`, octal) are collected as bytes so multi-byte UTF-8 sequences reassemble.
 */
export function unquoteGo(quoted: string): string {
  if (quoted.length < 2 || !quoted.startsWith('"') || !quoted.endsWith('"')) {
    throw new Error("not a double-quoted string");
  }
  const body = quoted.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '"') throw new Error(`unescaped quote at offset ${i + 1}`);
    if (char !== "\\") {
      const codePoint = body.codePointAt(i)!;
      if (codePoint > 0xffff) i++;
      bytes.push(...encoder.encode(String.fromCodePoint(codePoint)));
      continue;
    }
    const kind = body[++i];
    if (kind === undefined) throw new Error("dangling backslash at the end");
    if (kind in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[kind]);
    } else if (kind === "x" || kind === "u" || kind === "U") {
      const width = kind === "x" ? 2 : kind === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
        throw new Error(`bad \\${kind} escape at offset ${i}`);
      }
      const value = parseInt(hex, 16);
      if (kind === "x") bytes.push(value);
      else {
        if (value > 0x10ffff || (value >= 0xd800 && value < 0xe000)) {
          throw new Error(`\\${kind}${hex} is not a valid code point`);
        }
        bytes.push(...encoder.encode(String.fromCodePoint(value)));
      }
      i += width;
    } else if (/[0-7]/.test(kind)) {
      const octal = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(octal) || parseInt(octal, 8) > 0xff) {
        throw new Error(`bad octal escape at offset ${i}`);
      }
      bytes.push(parseInt(octal, 8));
      i += 2;
    } else {
      throw new Error(`unknown escape \\${kind} at offset ${i}`);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Parses the text of a `BUILDKITE_ENV_FILE`. */
export function parseEnvFile(text: string, source: string): JobEnvironment {
  const vars = new Map<string, string>();
  const propagate: string[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const equals = line.indexOf("=");
    if (equals === -1) {
      propagate.push(line.trim());
      return;
    }
    const name = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (name === "") {
      throw new UserError(`${source}:${index + 1}: a line starts with '=' (no variable name)`);
    }
    if (!value.startsWith('"')) {
      vars.set(name, value);
      return;
    }
    try {
      vars.set(name, unquoteGo(value));
    } catch (error) {
      throw new UserError(
        `${source}:${index + 1}: the value of ${name} is not a Go-quoted string (${
          (error as Error).message
        })`,
      );
    }
  });
  return { vars, propagate, source };
}

/** Parses the text of a `BUILDKITE_ENV_JSON_FILE`. */
export function parseEnvJson(text: string, source: string): JobEnvironment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UserError(`${source} must hold one JSON object of variables`);
  }
  const vars = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== "string") {
      throw new UserError(`${source}: the value of ${name} is not a string`);
    }
    vars.set(name, value);
  }
  return { vars, propagate: [], source };
}

function readText(path: string, variable: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new UserError(`${variable}=${path} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * The job environment from the agent's files, preferring the JSON one; undefined when the
 * hook runs without them (a hook run by hand, or `buildkite-agent bootstrap` directly).
 */
export function readJobEnvironment(
  env: Record<string, string | undefined>,
): JobEnvironment | undefined {
  const json = env.BUILDKITE_ENV_JSON_FILE;
  const shell = env.BUILDKITE_ENV_FILE;
  if (json) {
    const fromJson = parseEnvJson(readText(json, "BUILDKITE_ENV_JSON_FILE"), json);
    // The shell file alone carries the names of agent variables to propagate.
    if (shell) {
      try {
        fromJson.propagate = parseEnvFile(Deno.readTextFileSync(shell), shell).propagate;
      } catch {
        // The JSON file is authoritative for values; a broken twin only loses the names.
      }
    }
    return fromJson;
  }
  if (shell) return parseEnvFile(readText(shell, "BUILDKITE_ENV_FILE"), shell);
  return undefined;
}
