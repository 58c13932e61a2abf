/**
 * Child process for the storage tests that need another mount namespace or fewer
 * privileges: runs fileStorage against argv[2], then prints the check's report and
 * what the directory holds afterwards, as one JSON line.
 */
import { readdir } from "node:fs/promises";
import { defineHealthConfig, runHealthChecks } from "../../src/index.ts";
import { fileStorage } from "../../src/checks/storage.ts";

const dir = process.argv[2]!;
const report = await runHealthChecks(defineHealthConfig({ logger: false, subsets: { s: [fileStorage({ dir })] } }), "s");
const { status, output, detail } = report.checks[0]!;
const left = await readdir(dir).catch((error: NodeJS.ErrnoException) => [`<${error.code}>`]);
console.log(JSON.stringify({ status, output, detail, left }));
