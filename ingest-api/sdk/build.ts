import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * Builds the browser SDK: an ES module for bundlers and an IIFE for a <script> tag (global
 * `Livepulse`), minified, as ES2020 (every current browser). Output goes to ingest-api/sdk/dist/, which
 * is not committed; `npm run build:sdk` makes it, and the tests build their own copy.
 */
export interface SdkBundle {
  format: 'esm' | 'iife';
  file: string;
  bytes: number;
  gzipBytes: number;
}

export const SDK_ENTRY = fileURLToPath(new URL('./src/index.ts', import.meta.url));
export const SDK_DIST = fileURLToPath(new URL('./dist', import.meta.url));

export async function buildSdk(outdir = SDK_DIST): Promise<SdkBundle[]> {
  const targets = [
    { format: 'esm' as const, file: join(outdir, 'livepulse.esm.js') },
    { format: 'iife' as const, file: join(outdir, 'livepulse.iife.js') },
  ];
  return Promise.all(
    targets.map(async ({ format, file }) => {
      const result = await build({
        entryPoints: [SDK_ENTRY],
        outfile: file,
        bundle: true,
        minify: true,
        format,
        globalName: format === 'iife' ? 'Livepulse' : undefined,
        target: 'es2020',
        platform: 'browser',
        write: true,
        metafile: false,
        logLevel: 'silent',
      });
      if (result.errors.length > 0) throw new Error(`SDK build failed: ${result.errors.map((e) => e.text).join('; ')}`);
      const code = await readFile(file);
      return { format, file, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const bundle of await buildSdk()) {
    process.stdout.write(`${bundle.file}: ${bundle.bytes} bytes, ${bundle.gzipBytes} bytes gzipped\n`);
  }
}
