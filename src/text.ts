/**
 * Base64 and POSIX paths without `node:` modules: the first `node:` import costs a hook
 * process several MiB, and these few operations are all the program needs of them.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of `pieces`, one after another; one piece is handed back as it is. */
export function concatBytes(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const bytes = new Uint8Array(pieces.reduce((length, piece) => length + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}

/** Base64 of `text`'s UTF-8 bytes. */
export function toBase64(text: string): string {
  return encoder.encode(text).toBase64();
}

/**
 * The UTF-8 text whose base64 is `data` (white space in it ignored). The typed array's own
 * decoder rather than `atob`, whose first call costs a process about 1 ms: every hook with a
 * kubeconfig decodes its certificate authority as it starts.
 */
export function fromBase64(data: string): string {
  return decoder.decode(Uint8Array.fromBase64(data.replace(/\s+/g, "")));
}

/**
 * `path` with `.` and `..` resolved and repeated slashes collapsed, as POSIX
 * `path.normalize` does: `/a//b/../c/` is `/a/c/`, an empty path is `.`.
 */
export function normalizePath(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else if (!absolute) parts.push(part);
  }
  const joined = (absolute ? "/" : "") + parts.join("/");
  const trailing = path.endsWith("/") && parts.length > 0 ? "/" : "";
  return (joined || (absolute ? "/" : ".")) + trailing;
}

/** The path from the absolute directory `from` to the absolute `to`, as `path.relative`. */
export function relativePath(from: string, to: string): string {
  const split = (path: string) => normalizePath(path).split("/").filter(Boolean);
  const [source, target] = [split(from), split(to)];
  let common = 0;
  while (common < source.length && common < target.length && source[common] === target[common]) {
    common++;
  }
  return [...source.slice(common).map(() => ".."), ...target.slice(common)].join("/");
}

/** The directory part of `path`, as `path.dirname`. */
export function directoryOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  if (slash === -1) return trimmed === "" && path.startsWith("/") ? "/" : ".";
  return trimmed.slice(0, slash) || "/";
}
