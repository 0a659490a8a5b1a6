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
import { createJitGateway } from './jit-executor.ts';
import { depthLimitRule } from './plugins/depth-limit.ts';
import { createFormatError } from './plugins/errors.ts';

export function createApollo(options: { schema: GraphQLSchema; logger: Logger; maxDepth: number; executor: 'jit' | 'graphql-js' }): ApolloServer<Context> {
  return new ApolloServer<Context>({
    ...(options.executor === 'jit' ? { gateway: createJitGateway(options.schema) } : { schema: options.schema }),
    formatError: createFormatError(options.logger),
    validationRules: [depthLimitRule(options.maxDepth)],
    includeStacktraceInErrorResponses: false,
    plugins: [
      // Our GraphiQL is served from node_modules (gateway/graphiql.ts).
      ApolloServerPluginLandingPageDisabled(),
      // Per-field cache hints wrap every resolver; the response cache reads policy from the SDL instead.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
  });
}
