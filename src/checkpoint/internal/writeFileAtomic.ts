import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `text` so that a crash at any instant leaves either the old or the new file,
 * never a torn one: write a temp file, fsync it, rename over `path`, fsync the directory (so the
 * rename itself survives power loss). Used by FileCheckpoint.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

/** fsync of a directory: makes a rename or a new file in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some platforms (Windows, some network file systems) cannot fsync a directory; the rename stands.
  } finally {
    await handle.close();
  }
}
