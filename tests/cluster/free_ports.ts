/**
 * Free TCP ports on the loopback interface.
 *
 * @module
 */

/**
 * Returns `count` distinct ports that were free a moment ago. All listeners are held until
 * every port is chosen so the same port is not handed out twice.
 */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  try {
    return listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  } finally {
    for (const listener of listeners) listener.close();
  }
}
