import * as z from "zod/mini";
z.object({ a: z.string() }).parse({ a: "x" });
