/**
 * The "Kafka" section of bench/RESULTS.md is written by `npm run bench:kafka` (it needs a broker), the
 * rest by `npm run bench`; each keeps the other's part. The section sits between these two markers.
 */
const START = '<!-- kafka-bench:start -->';
const END = '<!-- kafka-bench:end -->';

/** `markdown` with its Kafka section replaced by `section` (appended when there is none yet). */
export function replaceKafkaSection(markdown: string, section: string): string {
  const block = `${START}\n${section.trimEnd()}\n${END}\n`;
  const at = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  if (at < 0 || end < at) return `${markdown.trimEnd()}\n\n${block}`;
  return `${markdown.slice(0, at)}${block}${markdown.slice(end + END.length).replace(/^\n/, '')}`;
}

/** `rendered` (a freshly generated RESULTS.md) with the Kafka section of `previous`, if it had one. */
export function keepKafkaSection(previous: string | undefined, rendered: string): string {
  if (previous === undefined) return rendered;
  const at = previous.indexOf(START);
  const end = previous.indexOf(END);
  if (at < 0 || end < at) return rendered;
  return replaceKafkaSection(rendered, previous.slice(at + START.length, end).trim());
}
