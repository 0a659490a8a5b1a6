/**
 * The HS256 secret of embedded mode: made once per data directory and kept beside the data,
 * so `npm run token` and a running gateway agree without configuration. Never for production,
 * where the key source is configured.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidOption } from './options.ts';

const FILE_NAME = 'dev-jwt-secret';
const SECRET_BYTES = 48;
const MIN_SECRET_BYTES = 32;

/**
 * The development secret of `dataDir` (`<dataDir>/dev-jwt-secret`, mode 0600), created on
 * first use. For ':memory:', a fresh random secret on every call: call it once per process.
 */
export async function developmentSecret(dataDir: string): Promise<string> {
  if (dataDir === ':memory:') return newSecret();
  const file = path.join(dataDir, FILE_NAME);
  await mkdir(dataDir, { recursive: true });
  try {
    return await readSecret(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // Written whole under a private name, then linked into place: link(2) fails if the file
  // exists, so of two processes starting together (the gateway and `npm run token`) one wins,
  // and the other reads the winner's secret, never a half-written file.
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, newSecret() + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary);
  }
  return readSecret(file);
}

function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

async function readSecret(file: string): Promise<string> {
  const info = await stat(file);
  // ssh's rule for private keys: a secret others can read is no longer a secret.
  if (!info.isFile() || (info.mode & 0o077) !== 0)
    throw invalidOption(`${file} must be a regular file only its owner can read (chmod 600)`);
  const secret = (await readFile(file, 'utf8')).trim();
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES)
    throw invalidOption(
      `${file} must hold a secret of at least ${MIN_SECRET_BYTES} bytes; delete it to make a new one`,
    );
  return secret;
}
