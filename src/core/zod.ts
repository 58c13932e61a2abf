/**
 * The part of zod/mini the config validation uses, in one place: the build bundles
 * this into dist with the code that uses it, tree-shaken (scripts/build-dist.mjs): loading
 * zod's hundred-odd modules costs a cold start ~40 ms and this part ~2 ms.
 */
export { boolean, custom, int, literal, maximum, minimum, nonnegative, object, optional, positive, regex, strictObject, string, union } from "zod/mini";
export type { core, ZodMiniType } from "zod/mini";
