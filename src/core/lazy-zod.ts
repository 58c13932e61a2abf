/**
 * zod/mini's functions the config validation uses (./zod.ts), evaluated on first call.
 *
 * A valid config never calls this: its fields pass the fast tests of config.ts, and
 * zod runs only to explain a refused value. So in dist this module is replaced by one
 * that holds zod's bundled code inside a function (scripts/build-dist.mjs), and a cold
 * start parses it but does not evaluate it (~1–2 ms of class building saved). From
 * source (tsx, the tests) it is a plain import.
 */
import * as z from "./zod.js";

export const loadZod = (): typeof z => z;
