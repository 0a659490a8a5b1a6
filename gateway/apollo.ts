/** Builds the Apollo Server: schema, error masking, limits; Apollo's telemetry and CDN landing page off. */
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../lib/logger.ts';
import type { Context } from '../resolvers/index.ts';
import { cachePlugin } from './cache/plugin.ts';
import { createJitGateway } from './jit-executor.ts';
import { depthLimitRule } from './plugins/depth-limit.ts';
import { createFormatError } from './plugins/errors.ts';

export function createApollo(options: {
  schema: GraphQLSchema;
  logger: Logger;
  maxDepth: number;
  executor: 'jit' | 'graphql-js';
}): ApolloServer<Context> {
  return new ApolloServer<Context>({
    ...(options.executor === 'jit' ? { gateway: createJitGateway(options.schema) } : { schema: options.schema }),
    formatError: createFormatError(options.logger),
    validationRules: [depthLimitRule(options.maxDepth)],
    includeStacktraceInErrorResponses: false,
    plugins: [
      cachePlugin(),
      // Our GraphiQL is served from node_modules (gateway/graphiql.ts).
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's hints wrap every resolver; our response cache reads the same hints from the SDL once (cache/policy.ts).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
  });
}
