/** Migration folders the migrations tests write: a build's folder, and older or newer builds of it. */
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export function migrationFolders(work: () => string) {
  /** A folder under the work directory holding `files` (paths relative to it). */
  async function folder(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(work(), name);
    for (const [file, content] of Object.entries(files)) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), content);
    }
    return dir;
  }
  /** The same folder with some files removed (an older build of the app) or added (a newer one). */
  async function variant(from: string, name: string, change: { remove?: string[]; add?: Record<string, string> }): Promise<string> {
    const dir = join(work(), name);
    await cp(from, dir, { recursive: true });
    for (const file of change.remove ?? []) await rm(join(dir, file), { recursive: true });
    for (const [file, content] of Object.entries(change.add ?? {})) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), content);
    }
    return dir;
  }
  return { folder, variant };
}
