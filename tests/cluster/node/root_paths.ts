/**
 * Resolving a path inside a container's root the way a runtime does before it mounts
 * something there (securejoin): symlinks are followed relative to the container's root, never
 * out of it, and missing components are kept as they are (they will be created inside the
 * root's overlay, not on the host).
 *
 * @module
 */

const MAX_SYMLINKS = 40;

/**
 * Resolves `path` (absolute, inside the container) against the directory tree at `root` and
 * returns the resolved path, still relative to the container's root (starting with `/`).
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = path.split("/").filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const hostPath = `${root === "/" ? "" : root}/${[...resolved, part].join("/")}`;
    let target: string | undefined;
    try {
      if ((await Deno.lstat(hostPath)).isSymlink) target = await Deno.readLink(hostPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new Error(`too many levels of symbolic links in ${path}`);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter(Boolean));
  }
  return `/${resolved.join("/")}`;
}
