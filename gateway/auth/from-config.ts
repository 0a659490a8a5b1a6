/**
 * The authenticator of a deployment, from its config: the configured key source, or in
 * embedded mode the development secret kept in DATA_DIR (shared with `npm run token`).
 */
import type { Config } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { createAuthenticator, type Authenticator } from './authenticator.ts';
import { developmentSecret } from './development-secret.ts';
import type { KeySource } from './key-source.ts';

/** The key source `config` names (reading the development secret when it names that). */
export async function keySourceOf(config: Config): Promise<KeySource> {
  const key = config.auth.key;
  if (key.kind === 'development') return { kind: 'secret', secret: await developmentSecret(config.dataDir) };
  return key;
}

/** Creates the authenticator; warns when the development key is in use. */
export async function authenticatorFromConfig(config: Config, logger: Logger): Promise<Authenticator> {
  if (config.auth.key.kind === 'development') {
    logger.warn(
      'tokens are verified with the development key (embedded mode); set AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_PUBLIC_KEY in production',
      {
        dataDir: config.dataDir,
      },
    );
  }
  return createAuthenticator({
    key: await keySourceOf(config),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
}
