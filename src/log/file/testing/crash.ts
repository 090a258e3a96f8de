/**
 * @module log/file/testing/crash
 * What a crash leaves behind, for recovery tests that damage files after a clean close: the
 * partition's recovery point without the clean-stop record the close wrote, so the next open
 * scans the active segment as it would after a crash.
 */
import { join } from 'node:path';
import { nodeFileSystem } from '../fs.js';

export async function forgetCleanStop(partitionDir: string): Promise<void> {
  const path = join(partitionDir, 'recovery-point.json');
  const text = new TextDecoder().decode(await nodeFileSystem.readFile(path));
  const { segment, position } = JSON.parse(text) as { segment: number; position: number };
  await nodeFileSystem.writeFile(path, new TextEncoder().encode(JSON.stringify({ segment, position })));
}
