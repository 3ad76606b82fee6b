/**
 * `$(VAR)` expansion in env values, command and args, ported from Kubernetes'
 * third_party/forked/golang/expansion: `$$` escapes, unknown or unterminated references
 * stay as written.
 *
 * @module
 */

/** Expands `$(NAME)` in `input` with the first of `contexts` that defines NAME. */
export function expandVariables(
  input: string,
  ...contexts: ReadonlyMap<string, string>[]
): string {
  const lookup = (name: string): string => {
    for (const context of contexts) {
      const value = context.get(name);
      if (value !== undefined) return value;
    }
    return `$(${name})`;
  };
  let output = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue;
    output += input.slice(checkpoint, cursor);
    const [read, isVariable, advance] = readVariableName(input.slice(cursor + 1));
    output += isVariable ? lookup(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return output + input.slice(checkpoint);
}

function readVariableName(input: string): [string, boolean, number] {
  if (input[0] === "$") return ["$", false, 1];
  if (input[0] === "(") {
    const close = input.indexOf(")", 1);
    if (close >= 0) return [input.slice(1, close), true, close + 1];
    return ["$(", false, 1];
  }
  return [`$${input[0]}`, false, 1];
}
