// Characters a POSIX shell never treats specially inside a word: such words need no quotes.
const SAFE_WORD = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

/**
 * Quotes one argument for a POSIX shell (sh, bash, zsh) so that pasting it gives back the same string:
 * plain words stay as they are, anything else goes in single quotes, each `'` written as `'\''`.
 */
export function shellQuote(arg: string): string {
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}
