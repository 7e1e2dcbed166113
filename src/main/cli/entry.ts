/**
 * Which build of the command line the bin starts (bin.ts). Most commands start from the
 * command line bundled into one file (cli.bundle.js, scripts/bundle.mjs): a JSON scenario
 * (the default) runs about 190 ms sooner. A command that names a scenario module (a .ts or
 * .js file) starts from the command line's own modules (cli.js) instead: the module imports
 * 'vmmsim', and beside the bundle this thread would compile the package twice (about 110 ms
 * more on example.ts). Nothing else is loaded here: it runs before everything.
 */
const MODULE_FILE = /\.[cm]?[jt]sx?$/i;

export type CliBuild = './cli.js' | './cli.bundle.js';

/** The build to start for these arguments (process.argv without node and the bin). */
export function cliBuild(args: readonly string[], bundleBuilt: boolean): CliBuild {
  if (!bundleBuilt) return './cli.js';
  return args.some((arg) => MODULE_FILE.test(arg)) ? './cli.js' : './cli.bundle.js';
}
