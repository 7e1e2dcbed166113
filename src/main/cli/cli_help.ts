/**
 * The command line's help around the commands: an example at the end of each command's
 * --help, and an unknown command refused with the nearest one suggested (exit 2).
 */
import type { Command } from 'commander';

/** Each command's example, shown last in its --help (a test holds every command to one). */
export const EXAMPLES: Record<string, string[]> = {
  run: [
    'npx vmmsim run                              # the built-in default scenario',
    'npx vmmsim run device.ts --seed 7 --json    # your scenario, another seed, JSON',
  ],
  stress: ['npx vmmsim stress --workers 4 --shared --locking global'],
  hunt: ['npx vmmsim hunt race.ts --runs 1000 --scheduler pct --depth 3'],
  replay: ['npx vmmsim replay replays/<file>.replay.json --trace run.trace.json'],
  shrink: ['npx vmmsim shrink replays/<file>.replay.json'],
  explore: ['npx vmmsim explore race.ts --preemptions 2 --steps 40'],
  merge: ['npx vmmsim merge shard0.json shard1.json   # from hunt --shard 0/2 and 1/2 --report'],
  soak: ['npx vmmsim soak --minutes 2 --faults throw,hang'],
  init: ['npx vmmsim init my-scenarios && cd my-scenarios && npx vmmsim run device.ts'],
  bench: ['npx vmmsim bench --quick --only scaling --json scaling.json'],
};

/** The examples at the end of `vmmsim --help`: a first session. */
const FIRST_STEPS = [
  'npx vmmsim run                      # the built-in default scenario on real threads',
  'npx vmmsim init my-sims             # a starter folder: device.ts, race.ts, a README',
  'npx vmmsim hunt my-sims/race.ts     # find the race it plants',
];

/** A control character shown as '?' (a word from the command line, printed back). */
export const shown = (word: string): string =>
  word.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 200);

/** Adds each command's example after its help (commands without one are left as they are). */
export function addExamples(cli: Command): void {
  cli.addHelpText('after', `\nExamples:\n${FIRST_STEPS.map((l) => `  $ ${l}`).join('\n')}`);
  for (const command of cli.commands) {
    const lines = EXAMPLES[command.name()];
    if (lines === undefined) continue;
    const label = lines.length === 1 ? 'Example' : 'Examples';
    command.addHelpText('after', `\n${label}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
  }
}

/** Edit distance (Levenshtein) between two short words. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, replace));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The sentence for an unknown command word, or undefined when the word is a command (or an
 * option, or absent): the nearest command by edit distance, and the list.
 */
export function unknownCommand(cli: Command, word: string | undefined): string | undefined {
  if (word === undefined || word.startsWith('-')) return undefined;
  const names = cli.commands.map((c) => c.name()).concat('help');
  if (names.includes(word)) return undefined;
  const nearest = names
    .map((name) => ({ name, d: distance(word.toLowerCase(), name) }))
    .sort((x, y) => x.d - y.d)[0]!.name;
  return (
    `error: unknown command '${shown(word)}'. Did you mean '${nearest}'? ` +
    `Commands: ${names.join(', ')}.`
  );
}
