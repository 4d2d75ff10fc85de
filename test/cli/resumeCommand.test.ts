import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resumeCommand } from '../../src/cli/resumeCommand.js';
import { shellQuote } from '../../src/cli/shellQuote.js';

/** What a real POSIX shell makes of `words`: one argument per NUL-terminated string. */
function shellSplit(words: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\0' ${words}`])
    .toString()
    .split('\0')
    .slice(0, -1);
}

describe('resumeCommand', () => {
  it('appends --resume, drops --overwrite and the API key in both spellings', () => {
    expect(
      resumeCommand([
        'run',
        '-i',
        'a.csv',
        '--api-key',
        'app-x',
        '--overwrite',
        '-o',
        'o.json',
        '--api-key=app-y',
      ]),
    ).toEqual({ command: 'dify-batch run -i a.csv -o o.json --resume', apiKeyDropped: true });
    expect(resumeCommand(['run', '-i', 'a.csv', '-o', 'o.json', '--resume'])).toEqual({
      command: 'dify-batch run -i a.csv -o o.json --resume',
      apiKeyDropped: false,
    });
  });

  it('pastes back into a shell as the same arguments', () => {
    const tricky = ["it's", 'a b', '$HOME', '`x`', '"q"', '', 'ü', '-o', 'a;b', '*'];
    const { command } = resumeCommand(['run', '--api-key', 'k', ...tricky, '--overwrite']);
    expect(shellSplit(command.replace(/^dify-batch /, ''))).toEqual(['run', ...tricky, '--resume']);
  });
});

describe('shellQuote', () => {
  it('round-trips any argument through sh', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 12 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (args) => {
          // NUL cannot be in an argv string at all.
          const clean = args.map((a) => a.replaceAll('\0', ''));
          expect(shellSplit(clean.map(shellQuote).join(' '))).toEqual(clean);
        },
      ),
      { numRuns: 60 },
    );
  });
});
