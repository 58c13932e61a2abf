/**
 * probekit/checks/storage: can the app still write to its file storage (Node only)?
 * Writes a uniquely named file in a directory, reads it back, compares, deletes it
 * and confirms it is gone, like django-health-check's DefaultFileStorageHealthCheck.
 *
 * @example
 * import { fileStorage } from "probekit/checks/storage";
 * defineHealthConfig({ subsets: { readiness: [fileStorage({ dir: process.env.UPLOAD_DIR })] } });
 */
import { randomUUID } from "node:crypto";
import { lstat, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, ServiceUnavailable } from "../core/errors.js";
import { errorCode, guarded } from "../internal/safe-errors.js";

export interface FileStorageOptions extends CommonCheckOptions {
  /**
   * The directory to write to, relative to the working directory or absolute.
   * Required, but may be `undefined` (an unset env var): the check then fails at
   * run time with `no directory configured`, never at import or build time.
   */
  dir: string | undefined;
  /** @default "component" */
  componentType?: string;
}

/** The steps of a round trip: what each could not do, and how its other failures are named. */
const STEPS = {
  write: { cannot: "write to", failed: "write failed" },
  read: { cannot: "read back from", failed: "read failed" },
  delete: { cannot: "delete from", failed: "delete failed" },
  confirm: { cannot: "look for the file in", failed: "check after delete failed" },
} as const;

type Step = keyof typeof STEPS;

/**
 * Passes when a file can be written to `dir`, read back unchanged and deleted.
 * Each run uses its own file (`.probekit-<uuid>`, created exclusively), so
 * concurrent runs and pods sharing a volume never collide, and the file is
 * removed in every case, also when the run times out. Fails with
 * `directory not found: <dir>`, `not a directory: <dir>`,
 * `read-only: cannot write to <dir>`, `permission denied: cannot write to <dir>`,
 * `no space left on <dir>`, `content read back differs` or
 * `file still exists after delete`.
 *
 * @example
 * fileStorage({ dir: "public/uploads" });
 * @example
 * fileStorage({ name: "media", dir: "/mnt/media", timeoutMs: 5000, critical: false });
 */
export function fileStorage(options: FileStorageOptions): Check {
  const dir = options.dir;
  return builtinCheck(options, { name: "storage", componentType: options.componentType ?? "component" }, async ({ signal }) => {
    // An unset env var is a deploy mistake the probe should report, not a crash at import.
    if (typeof dir !== "string" || dir.trim() === "") throw new ServiceUnavailable("no directory configured");
    const file = join(dir, `.probekit-${randomUUID()}`);
    const payload = `probekit storage check ${randomUUID()}\n`;
    let gone = false;
    let ours = true;
    try {
      // "wx" (O_CREAT | O_EXCL) never reuses, overwrites or follows an existing path.
      await attempt("write", dir, signal, () =>
        writeFile(file, payload, { flag: "wx", signal }).catch((error: unknown) => {
          // Someone else's file by that name (a UUID collision, in theory) is not ours to delete.
          if (errorCode(error) === "EEXIST") ours = false;
          throw error;
        }),
      );
      const read = await attempt("read", dir, signal, () => readFile(file, { encoding: "utf8", signal }));
      if (read !== payload) throw new ServiceReturnedUnexpectedResult("content read back differs");
      signal.throwIfAborted();
      await attempt("delete", dir, signal, () => unlink(file));
      if (await attempt("confirm", dir, signal, () => exists(file))) throw new ServiceReturnedUnexpectedResult("file still exists after delete");
      gone = true;
    } finally {
      // Best effort, and awaited, so an aborted run has cleaned up by the time its promise settles.
      if (!gone && ours) await unlink(file).catch(() => {});
    }
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

/** Runs one step, turning its file-system error into a safe message (the raw one stays the cause); an abort passes through. */
function attempt<T>(step: Step, dir: string, signal: AbortSignal, operation: () => Promise<T>): Promise<T> {
  return guarded(signal, operation, (error) => storageError(step, dir, error));
}

function storageError(step: Step, dir: string, error: unknown): ServiceUnavailable | ServiceReturnedUnexpectedResult {
  const code = errorCode(error);
  const { cannot, failed } = STEPS[step];
  switch (code) {
    case "ENOENT":
      if (step === "write") return new ServiceUnavailable(`directory not found: ${dir}`, { cause: error });
      // The directory was there for the write: the file vanished under the check.
      return new ServiceReturnedUnexpectedResult(`file vanished before ${step === "read" ? "read back" : "delete"}`, { cause: error });
    case "ENOTDIR":
      return new ServiceUnavailable(`not a directory: ${dir}`, { cause: error });
    case "EROFS":
      return new ServiceUnavailable(`read-only: cannot ${cannot} ${dir}`, { cause: error });
    case "EACCES":
    case "EPERM":
      return new ServiceUnavailable(`permission denied: cannot ${cannot} ${dir}`, { cause: error });
    case "ENOSPC":
      return new ServiceUnavailable(`no space left on ${dir}`, { cause: error });
    case "EDQUOT":
      return new ServiceUnavailable(`disk quota exceeded on ${dir}`, { cause: error });
    default:
      // Only the code: the raw message repeats the path and adds nothing safe to show.
      return new ServiceUnavailable(`${failed}: ${code ?? "error"}`, { cause: error });
  }
}
