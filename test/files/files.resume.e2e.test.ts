import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { FileUploadLog } from '../../src/files/FileUploadLog.js';

/**
 * Issue 13: a run SIGKILLed while it uploads, then resumed with `--resume`, uploads only the files its
 * upload log does not hold: nothing already uploaded is uploaded again.
 */

const CLI = resolve('dist/cli/main.js');
const KEY = 'app-FileResumeWorkflowKey001';
const FILES = 12;
const RECORDS = 60;

function cli(emulator: Emulator, args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    env: { ...process.env, DIFY_BASE_URL: emulator.url, DIFY_API_KEY: KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<{ code: number | null; stderr: string }>((r) =>
    child.on('close', (code) => r({ code, stderr })),
  );
  return { child, done };
}

function logged(path: string): number {
  try {
    return Object.keys(JSON.parse(readFileSync(path, 'utf8')).uploads).length;
  } catch {
    return 0;
  }
}

describe('files: resume after SIGKILL', () => {
  it('re-uploads nothing the killed run already uploaded', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    const emulator = await startEmulator({
      apps: [{ key: KEY, mode: 'workflow', fileInputs: [{ variable: 'doc', type: 'file', required: true }] }],
      latency: { kind: 'uniform', minMs: 20, maxMs: 60 },
      uploadLatencyMs: 30,
      maxStoredRuns: 1000,
    });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'dify-batch-files-resume-'));
      const names = Array.from({ length: FILES }, (_, i) => `doc-${i}.md`);
      for (const [i, name] of names.entries())
        await writeFile(join(dir, name), `# ${name}\n${'x'.repeat(i * 10)}\n`);
      // Records name the files in runs of 5, so uploads are spread over the whole run.
      const rows = Array.from({ length: RECORDS }, (_, i) => `r${i},${names[Math.floor(i / 5)]},q${i}`);
      const input = join(dir, 'in.csv');
      await writeFile(input, `id,doc,query\n${rows.join('\n')}\n`);
      const output = join(dir, 'out.ndjson');
      const args = ['-i', input, '-o', output, '--id-field', 'id', '-c', '2', '--no-progress'];
      const log = FileUploadLog.pathFor(output);

      const first = cli(emulator, args);
      const deadline = Date.now() + 20_000;
      while (logged(log) < 3 && Date.now() < deadline) await sleep(5);
      first.child.kill('SIGKILL');
      await first.done;
      const inLog = logged(log);
      const acceptedBeforeResume = emulator.stats().uploads;
      expect(inLog).toBeGreaterThanOrEqual(3);
      expect(inLog).toBeLessThan(FILES);

      // Other files would give other results: a resume must name the same folder.
      const moved = await cli(emulator, [...args, '--resume', '--files-root', tmpdir()]).done;
      expect(moved.code).toBe(1);
      expect(moved.stderr).toMatch(
        /--resume: --files-root differs from the checkpointed run \(not set then, ".*" now\)/,
      );
      expect(emulator.stats().uploads).toBe(acceptedBeforeResume);

      const second = await cli(emulator, [...args, '--resume']).done;
      expect(second.code, second.stderr).toBe(0);
      // The resumed run uploaded exactly the files the log did not hold.
      expect(emulator.stats().uploads - acceptedBeforeResume).toBe(FILES - inLog);
      expect(logged(log)).toBe(FILES);

      const results = (await readFile(output, 'utf8'))
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              seq: number;
              id: string;
              ok: boolean;
              outputs: { doc: { filename: string } };
            },
        );
      expect(results.map((r) => r.seq)).toEqual([...Array(RECORDS).keys()]);
      for (const r of results) {
        expect(r.ok).toBe(true);
        expect(r.outputs.doc.filename).toBe(names[Math.floor(r.seq / 5)]);
      }
    } finally {
      await emulator.close();
    }
  }, 60_000);
});
