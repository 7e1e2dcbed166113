// The build's second half (after tsc): the two entry points that start often are bundled
// into one file each, so that a start compiles one module instead of about a hundred.
//   - the actor worker: eight or more start per run;
//   - the command line (the package's bin).
// Every path the code computes from its own location goes through src/shared/module_url.ts,
// which is right inside a bundle too. Packages that find their own files at run time
// (piscina's workers, tsx's loader, mitata) stay outside.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
  external: ['tsx', 'tsx/*'],
};

await build({
  ...common,
  entryPoints: ['dist/src/workers/actor_worker.js'],
  outfile: 'dist/src/workers/actor_worker.bundle.js',
});

await build({
  ...common,
  entryPoints: ['dist/src/main/cli/cli.js'],
  outfile: 'dist/src/main/cli/cli.bundle.js',
  external: [...common.external, 'piscina', 'mitata'],
  // commander is CommonJS and requires Node's modules; an ES module has no `require`.
  banner: {
    js: "import { createRequire as vmmsimRequire } from 'node:module';\nconst require = vmmsimRequire(import.meta.url);",
  },
});
