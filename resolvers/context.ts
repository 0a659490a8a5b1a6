/** The per-request context: loaders are built here, per request, never at module scope. */
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  readonly requestId: string;
  readonly config: Config;
  readonly tiers: Tiers;
  readonly loaders: Loaders;
  readonly logger: Logger;
  /** Whether the request carried the configured admin token. */
  readonly admin: boolean;
}
