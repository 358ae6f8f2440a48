import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file below a directory (WAL and SHM files included). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** The files below dir whose bytes contain the needle (as UTF-8, and as UTF-16LE for good measure). */
export function filesContaining(dir: string, needle: string | Buffer): string[] {
  const patterns =
    typeof needle === 'string' ? [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')] : [needle];
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    return patterns.some((p) => bytes.includes(p));
  });
}
