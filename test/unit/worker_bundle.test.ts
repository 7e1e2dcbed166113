/**
 * What every worker of a run loads: the actor worker bundled as the build bundles it. Scenario
 * checking there uses zod/mini (src/shared/scenario/schema.ts); the full zod package, or a
 * namespace re-export that keeps every locale, made the bundle 1 MB and cost each worker
 * about 30 ms of start-up on 2 cores.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('the actor worker bundle', () => {
  it('holds zod/mini with its English messages only, and stays under 500 KB', async () => {
    const result = await build({
      entryPoints: [join(root, 'src', 'workers', 'actor_worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['tsx'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values(result.metafile.outputs)[0]!;
    const inputs = Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([file]) => file);
    expect(inputs.filter((f) => f.includes('zod/v4/classic'))).toEqual([]);
    const locales = inputs.filter((f) => f.includes('zod/v4/locales/'));
    expect(locales.map((f) => f.replace(/.*\//, ''))).toEqual(['en.js']);
    expect(result.outputFiles[0]!.contents.length).toBeLessThan(500_000);
  });
});
