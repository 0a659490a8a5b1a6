/** Loads the SDL files of this folder into one type-definitions string. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The SDL of every .graphql file of this folder, in name order. */
export function loadTypeDefs(): string {
  return readdirSync(here)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(here, f), 'utf8'))
    .join('\n');
}
