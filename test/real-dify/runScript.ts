import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/**
 * Runs `bash script ...args` with its output in `logFile` and resolves with that output once bash
 * exits. start.sh leaves daemons behind that inherit its stdout, so waiting for the pipe to close
 * (what execFile does) would wait for the daemons.
 */
export function runScript(
  script: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string> {
  const fd = openSync(logFile, 'w');
  return new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', fd, fd], env });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      closeSync(fd);
      const output = readFileSync(logFile, 'utf8');
      if (code === 0) resolve(output);
      else reject(new Error(`${script} ${args.join(' ')} exited ${code ?? signal}:\n${output.slice(-3000)}`));
    });
  });
}
