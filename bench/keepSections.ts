import { existsSync, readFileSync } from 'node:fs';

/**
 * Sections of bench/RESULTS.md written by other benchmarks (`npm run bench:gateway` writes
 * "## Batch gateway", `npm run bench:real-dify` writes "## Real Dify 1.13.2"): a regenerated RESULTS.md keeps them, at its end, instead of dropping them.
 */
export const KEPT_SECTIONS: readonly string[] = ['## Batch gateway', '## Real Dify 1.13.2'];

/** `rendered` plus each kept section found in the file at `path` (heading to next `## ` or the end). */
export function keepSections(rendered: string, path: string, headings = KEPT_SECTIONS): string {
  if (!existsSync(path)) return rendered;
  const previous = readFileSync(path, 'utf8');
  let out = rendered;
  for (const heading of headings) {
    const section = extractSection(previous, heading);
    if (section !== undefined && extractSection(out, heading) === undefined) {
      out = `${out.trimEnd()}\n\n${section.trimEnd()}\n`;
    }
  }
  return out;
}

/**
 * The section that starts with the line `heading`, up to the next level-2 heading, the next HTML comment
 * line (another writer's marker, e.g. `<!-- kafka-bench:start -->`, which must not travel with it) or the end.
 */
export function extractSection(text: string, heading: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) return undefined;
  let end = lines.findIndex((line, i) => i > start && (line.startsWith('## ') || line.startsWith('<!--')));
  if (end === -1) end = lines.length;
  return lines.slice(start, end).join('\n');
}

/** `text` with the section under `heading` replaced by `section` (appended when there is none yet). */
export function replaceSection(text: string, heading: string, section: string): string {
  const old = extractSection(text, heading);
  if (old === undefined) return `${text.trimEnd()}\n\n${section.trimEnd()}\n`;
  const at = text.indexOf(old);
  const rest = text.slice(at + old.length);
  return `${text.slice(0, at)}${section.trimEnd()}\n${rest.startsWith('\n') ? rest : `\n${rest}`}`.replace(
    /\n+$/,
    '\n',
  );
}
