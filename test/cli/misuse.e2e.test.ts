import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';

// The misuse suite of issue 7: each test runs the built binary as a user would, against the emulator,
// and checks the exit code, the emulator's call count and the bytes of every file involved.

const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const isRoot = process.getuid?.() === 0;

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 0 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.configure({ latency: { kind: 'fixed', ms: 0 } });
  emulator.reset();
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-misuse-'));
});
afterEach(async () => {
  await chmod(dir, 0o700).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `dify-batch ARGS` in `dir`; `exited` resolves with its exit code and output. */
function start(args: readonly string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [MAIN, ...args], {
    cwd: dir,
    env: { ...process.env, DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, stderr: () => stderr };
}

const run = (args: readonly string[], env?: Record<string, string>) => start(args, env).exited;

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, text: `t${i}` }));

async function writeInput(name: string, n: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines(n).join('\n')}\n`);
  return path;
}

async function readNdjson(path: string): Promise<{ seq: number; ok: boolean }[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { seq: number; ok: boolean });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the run to get going');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Asserts a configuration refusal: exit 1, one line naming `flags`, no call made, `files` unchanged. */
async function expectRefused(exit: Exit, flags: readonly string[], files: Record<string, Buffer>) {
  expect(exit.code, exit.stderr).toBe(1);
  const stderrLines = exit.stderr.trim().split('\n');
  expect(stderrLines, exit.stderr).toHaveLength(1);
  for (const flag of flags) expect(stderrLines[0]).toContain(flag);
  expect(emulator.stats().requests).toBe(0);
  for (const [path, bytes] of Object.entries(files)) expect(await readFile(path)).toEqual(bytes);
}

describe('outputs that would destroy the input are refused before any call', () => {
  it('-o spelled as $PWD/a.ndjson, sub/../a.ndjson, a symlink and a hard link to the input', async () => {
    const input = await writeInput('a.ndjson', 20);
    const bytes = await readFile(input);
    await mkdir(join(dir, 'sub'));
    await symlink(input, join(dir, 'link.ndjson'));
    await link(input, join(dir, 'hard.ndjson'));
    for (const output of [join(dir, 'a.ndjson'), 'sub/../a.ndjson', 'link.ndjson', 'hard.ndjson']) {
      const exit = await run(['run', '-i', 'a.ndjson', '-o', output, '--no-progress']);
      await expectRefused(exit, ['--output', '--input'], { [input]: bytes });
    }
    // Even with --overwrite: the input is never a valid output.
    const exit = await run(['run', '-i', 'a.ndjson', '-o', 'hard.ndjson', '--overwrite']);
    await expectRefused(exit, ['--output', '--input'], { [input]: bytes });
  });

  it('-e naming the input, and -e equal to -o under another spelling', async () => {
    const input = await writeInput('a.ndjson', 20);
    const bytes = await readFile(input);
    const toInput = await run(['run', '-i', input, '-o', 'out.ndjson', '-e', './a.ndjson']);
    await expectRefused(toInput, ['--errors', '--input'], { [input]: bytes });
    const same = await run(['run', '-i', input, '-o', 'out.ndjson', '-e', join(dir, 'out.ndjson')]);
    await expectRefused(same, ['--output', '--errors'], { [input]: bytes });
    await expect(stat(join(dir, 'out.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('existing outputs', () => {
  it('an existing non-empty output is refused without --overwrite or --resume, naming both', async () => {
    const input = await writeInput('a.ndjson', 5);
    const output = join(dir, 'out.ndjson');
    await writeFile(output, '{"previous":"results"}\n');
    const bytes = await readFile(output);
    const exit = await run(['run', '-i', input, '-o', output]);
    await expectRefused(exit, ['--output', '--overwrite', '--resume'], { [output]: bytes });
    const errors = join(dir, 'errors.ndjson');
    await writeFile(errors, '{"previous":"failures"}\n');
    const exitErrors = await run(['run', '-i', input, '-o', join(dir, 'fresh.ndjson'), '-e', errors]);
    await expectRefused(exitErrors, ['--errors', '--overwrite', '--resume'], {
      [errors]: await readFile(errors),
    });
  });

  it('--overwrite replaces it; an empty existing file, /dev/null and /dev/stdout are never refused', async () => {
    const input = await writeInput('a.ndjson', 5);
    const output = join(dir, 'out.ndjson');
    await writeFile(output, '{"previous":"results"}\n');
    const overwritten = await run(['run', '-i', input, '-o', output, '--overwrite', '--no-progress']);
    expect(overwritten.code, overwritten.stderr).toBe(0);
    expect((await readNdjson(output)).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);

    const empty = join(dir, 'empty.ndjson');
    await writeFile(empty, '');
    expect((await run(['run', '-i', input, '-o', empty, '--no-progress'])).code).toBe(0);
    expect(await readNdjson(empty)).toHaveLength(5);

    const devices = await run(['run', '-i', input, '-o', '-', '-e', '/dev/null', '--no-progress']);
    expect(devices.code, devices.stderr).toBe(0);
    expect(devices.stdout.trim().split('\n')).toHaveLength(5);

    // A FIFO (here with a reader that keeps what it gets) is a stream, never "an existing output".
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let piped = '';
    reader.stdout.on('data', (chunk: Buffer) => {
      piped += chunk.toString();
    });
    const readerDone = new Promise((resolve) => reader.on('close', resolve));
    const viaFifo = await run(['run', '-i', input, '-o', fifo, '--output-format', 'ndjson', '--no-progress']);
    await readerDone;
    expect(viaFifo.code, viaFifo.stderr).toBe(0);
    expect(piped.trim().split('\n')).toHaveLength(5);
  });

  it('a broken input leaves an existing output (given with --overwrite) byte for byte intact', async () => {
    const output = join(dir, 'out.ndjson');
    const previous = Buffer.from('{"previous":"results"}\n');
    await writeFile(join(dir, 'object.json'), '{"not":"an array"}\n');
    await writeFile(join(dir, 'fake.ndjson.gz'), `${lines(3).join('\n')}\n`);
    await mkdir(join(dir, 'folder'));
    for (const args of [
      ['-i', 'object.json'],
      ['-i', 'fake.ndjson.gz'],
      ['-i', 'folder', '--input-format', 'ndjson'],
    ]) {
      await writeFile(output, previous);
      emulator.reset();
      const exit = await run([
        'run',
        ...args,
        '-o',
        output,
        '-e',
        'dead.ndjson',
        '--overwrite',
        '--no-progress',
      ]);
      expect(exit.code, exit.stderr).toBe(1);
      expect(exit.stderr).toMatch(/ERR_SOURCE_READ|cannot read/);
      expect(exit.stderr).toContain('0 records read, 0 written');
      expect(await readFile(output)).toEqual(previous);
      await expect(stat(join(dir, 'dead.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' });
      // No run: at most the preflight's GET /info and GET /parameters.
      expect(emulator.stats().requests).toBeLessThanOrEqual(2);
      expect(emulator.stats().callsPerInput ?? {}).toEqual({});
    }
  });
});

describe('unwritable outputs are found before any call', () => {
  it('--errors in a directory that does not exist, or under a regular file', async () => {
    const input = await writeInput('a.ndjson', 5);
    for (const errors of [join(dir, 'nope', 'dead.ndjson'), join(input, 'dead.ndjson')]) {
      const exit = await run(['run', '-i', input, '-o', 'out.ndjson', '-e', errors]);
      await expectRefused(exit, ['--errors'], {});
      await expect(stat(join(dir, 'out.ndjson'))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it.skipIf(isRoot)('--errors in a read-only directory', async () => {
    const input = await writeInput('a.ndjson', 5);
    await mkdir(join(dir, 'ro'));
    await chmod(join(dir, 'ro'), 0o500);
    const exit = await run(['run', '-i', input, '-o', 'out.ndjson', '-e', 'ro/dead.ndjson']);
    await expectRefused(exit, ['--errors'], {});
  });
});

describe('truthful exits', () => {
  /** A long run: 2,000 records at 15 ms a call with 4 in flight (several seconds, interrupted early). */
  async function longRun(extra: readonly string[] = []) {
    emulator.configure({ latency: { kind: 'fixed', ms: 15 } });
    const input = await writeInput('big.ndjson', 2000);
    const output = join(dir, 'out.ndjson');
    const summaryPath = join(dir, 'summary.json');
    const started = start([
      'run',
      '-i',
      input,
      '-o',
      output,
      '-c',
      '4',
      '--batch-size',
      '5',
      '--summary',
      summaryPath,
      '--no-progress',
      ...extra,
    ]);
    await until(() => emulator.stats().requests >= 40);
    return { ...started, input, output, summaryPath };
  }

  async function readSummary(path: string) {
    return JSON.parse(await readFile(path, 'utf8')) as {
      exitCode: number;
      reason: string;
      signal?: string;
      counts: { read: number; written: number; succeeded: number; failed: number };
      resumeCommand?: string;
      input: string;
      output: string;
      latencyMs?: { p50: number };
      elapsedMs: number;
    };
  }

  it('SIGINT mid-run: drains, exits 130, prints how far it got and the resume command', async () => {
    // The real key on the command line (a wrong one now stops the run at the first 401).
    const { child, exited, output, summaryPath, input } = await longRun([
      '--overwrite',
      '--api-key',
      WORKFLOW_KEY,
    ]);
    child.kill('SIGINT');
    const exit = await exited;
    expect(exit.code, exit.stderr).toBe(130);
    expect(exit.stderr).toContain('interrupted (SIGINT): stopped reading and wrote every record read');
    const summary = await readSummary(summaryPath);
    expect(summary).toMatchObject({ exitCode: 130, reason: 'interrupted', signal: 'SIGINT', input, output });
    expect(summary.counts.written).toBe(summary.counts.read);
    expect(summary.counts.read).toBeLessThan(2000);
    expect(summary.latencyMs!.p50).toBeGreaterThan(0);
    const results = await readNdjson(output);
    expect(results.map((r) => r.seq)).toEqual([...Array(summary.counts.read).keys()]);
    // One call per record read, plus the preflight's GET /info and GET /parameters (file inputs reuse it).
    expect(emulator.stats().requests).toBe(summary.counts.read + 2);
    // The exact command, without the key and without --overwrite, with --resume.
    expect(summary.resumeCommand).toBe(
      `dify-batch run -i ${input} -o ${output} -c 4 --batch-size 5 --summary ${summaryPath} --no-progress --resume`,
    );
    expect(exit.stderr).toContain(`to continue: ${summary.resumeCommand}`);
    expect(exit.stderr).toContain('(API key from $DIFY_API_KEY or pass --api-key)');
    expect(exit.stderr + JSON.stringify(summary)).not.toContain(WORKFLOW_KEY);
  }, 30_000);

  it('SIGTERM mid-run: exits 143 with SIGTERM wording, never "Ctrl-C"', async () => {
    const { child, exited, output, summaryPath } = await longRun();
    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit.code, exit.stderr).toBe(143);
    expect(exit.stderr).toContain('stopping (SIGTERM)');
    expect(exit.stderr).toContain('interrupted (SIGTERM)');
    expect(exit.stderr).not.toContain('Ctrl-C');
    const summary = await readSummary(summaryPath);
    expect(summary).toMatchObject({ exitCode: 143, reason: 'interrupted', signal: 'SIGTERM' });
    expect((await readNdjson(output)).length).toBe(summary.counts.read);
  }, 30_000);

  it('two SIGINTs: cancels at once, still prints the summary and exits 130', async () => {
    const { child, exited, summaryPath, stderr } = await longRun();
    // Slow calls, so the drain is still going when the second signal arrives.
    emulator.configure({ latency: { kind: 'fixed', ms: 5000 } });
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    await until(() => stderr().includes('stopping (SIGINT)'));
    child.kill('SIGINT');
    const exit = await exited;
    expect(exit.code, exit.stderr).toBe(130);
    expect(exit.stderr).toContain('interrupted (SIGINT), cancelled');
    expect(exit.stderr).toMatch(/\d+ records read, \d+ written/);
    expect(exit.stderr).toContain('to continue: dify-batch run');
    const summary = await readSummary(summaryPath);
    expect(summary).toMatchObject({ exitCode: 130, reason: 'cancelled', signal: 'SIGINT' });
  }, 30_000);

  it('a truncated .json array mid-run: exit 1 with the position, written = read = calls made', async () => {
    const records = lines(1000);
    const text = `[\n${records.join(',\n')}\n]\n`;
    const input = join(dir, 'cut.json');
    await writeFile(input, text.slice(0, text.indexOf('{"id":"r700"') + 8));
    const output = join(dir, 'out.ndjson');
    const summaryPath = join(dir, 'summary.json');
    const exit = await run(['run', '-i', input, '-o', output, '--summary', summaryPath, '--no-progress']);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr).toMatch(/^dify-batch: .*last good record \(seq 699, line 701, byte \d+\)/m);
    expect(exit.stderr).toContain('stopped by a fatal error: 700 records read, 700 written');
    expect((await readNdjson(output)).map((r) => r.seq)).toEqual([...Array(700).keys()]);
    // 700 runs, plus the preflight's GET /info and GET /parameters.
    expect(emulator.stats().requests).toBe(702);
    const summary = await readSummary(summaryPath);
    expect(summary).toMatchObject({ exitCode: 1, reason: 'fatal', counts: { read: 700, written: 700 } });
    expect(summary.resumeCommand).toContain('--resume');
  });

  it('exit 0 when every record succeeds, 2 when some fail, each with a summary file', async () => {
    const input = await writeInput('a.ndjson', 10);
    const summaryPath = join(dir, 'summary.json');
    const ok = await run(['run', '-i', input, '-o', 'ok.ndjson', '--summary', summaryPath, '--no-progress']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readSummary(summaryPath)).toMatchObject({ exitCode: 0, reason: 'succeeded' });
    expect((await readSummary(summaryPath)).resumeCommand).toBeUndefined();
    await writeFile(input, `${lines(3).join('\n')}\n{broken\n`);
    const some = await run([
      'run',
      '-i',
      input,
      '-o',
      'some.ndjson',
      '--summary',
      summaryPath,
      '--no-progress',
    ]);
    expect(some.code, some.stderr).toBe(2);
    expect(await readSummary(summaryPath)).toMatchObject({
      exitCode: 2,
      reason: 'failed-records',
      counts: { read: 4, written: 4, failed: 1 },
    });
  });
});
